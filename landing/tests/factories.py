import factory

from crm_core.models import ConsentLevel
from landing.models import ContactMatching, FieldType, FormField, LandingPage, LeadMatching, PageStatus


class LandingPageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LandingPage
        skip_postgeneration_save = True

    slug = factory.Sequence(lambda n: f"offer-{n}")
    title = factory.Sequence(lambda n: f"Offer {n}")
    content = "<p>Get the <strong>whitepaper</strong>.</p>"
    status = PageStatus.LIVE
    lead_topic = "Contoso Ltd Conference"
    contact_matching = ContactMatching.EMAIL
    lead_matching = LeadMatching.SAME_TOPIC
    consent_text = "Send me marketing email"
    consent_level = ConsentLevel.MARKETING

    @factory.post_generation
    def with_fields(page, create, extracted, **kwargs):
        if not create or extracted is False:
            return
        FormField.objects.bulk_create(
            [
                FormField(page=page, position=0, name="email", label="Email", field_type=FieldType.EMAIL,
                          required=True, max_length=254, contact_field="email"),
                FormField(page=page, position=1, name="first_name", label="First name", max_length=100,
                          contact_field="first_name", lead_field="first_name"),
                FormField(page=page, position=2, name="last_name", label="Last name", required=True,
                          max_length=100, contact_field="last_name", lead_field="last_name"),
                FormField(page=page, position=3, name="company", label="Company", max_length=200,
                          lead_field="company_name"),
                FormField(page=page, position=4, name="message", label="Message",
                          field_type=FieldType.TEXTAREA,
                          max_length=2000),
            ]
        )  # fmt: skip
