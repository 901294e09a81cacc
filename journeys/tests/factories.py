import factory
from django.utils import timezone

from crm_core.tests.factories import ContactFactory
from segments.models import Segment, SegmentMembership

from ..services import journey_create

WELCOME_HTML = (
    '<html><body><p>Hello {{ contact.first_name|default:"there" }},</p>'
    '<p><a href="https://example.com/offer?a=1&amp;b=2">See the offer</a> or '
    '<a href="mailto:help@example.com">write to us</a>.</p></body></html>'
)


def send_email_step(key="welcome", **extra):
    return {
        "key": key,
        "kind": "send_email",
        "config": {"subject": "Welcome {{ contact.first_name }}", "html": WELCOME_HTML},
        **extra,
    }


class SegmentMemberFactory(factory.django.DjangoModelFactory):
    """A member of segment `segment_id` (a static segment with that id is made if missing)."""

    class Meta:
        model = SegmentMembership

    segment_id = 1
    contact = factory.SubFactory(ContactFactory)
    added_at = factory.LazyFunction(timezone.now)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        Segment.objects.get_or_create(
            pk=kwargs["segment_id"], defaults={"name": f"Segment {kwargs['segment_id']}", "kind": "static"}
        )
        return super()._create(model_class, *args, **kwargs)


def make_journey(*, steps, created_by=None, **data):
    data.setdefault("name", "Welcome series")
    if data.get("entry_type", "segment") == "segment":
        data.setdefault("entry_segment_id", 1)
    return journey_create(data=data, steps=steps, created_by=created_by)
