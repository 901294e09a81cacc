"""Marketing definitions for the demo: two live segments, a live primary scoring model, a draft journey.

`make run` makes them (`seed_demo_definitions`, and `seed_demo` unless `--rows-only`), so a newcomer's
dashboard, segment list, scoring page and journey designer show something real. Each is made through
its app's services, and only if its name is new, so running it again changes nothing.
"""

from django.db import transaction

from crm_core.models import InteractionKind
from journeys.models import Journey
from journeys.services import journey_create
from leadscoring.models import DecayMode, ScoringModel, ScoringModelStatus
from leadscoring.services import scoring_model_save
from segments.examples import CONTOSO_DECISION_MAKERS, RECENT_EMAIL_CLICKERS
from segments.models import Segment, SegmentStatus
from segments.services import segment_create, segment_go_live

from .vocabulary import CONTOSO_TOPIC

SEGMENT_NAME = "Contoso Ltd Conference decision makers"
ENGAGED_SEGMENT_NAME = "Clicked an email in the last 30 days"
SCORING_MODEL_NAME = "Engagement"
JOURNEY_NAME = "Contoso Ltd Conference invitation"

SEGMENTS = (
    (SEGMENT_NAME, CONTOSO_DECISION_MAKERS, "The segment-query contract's example."),
    (ENGAGED_SEGMENT_NAME, RECENT_EMAIL_CLICKERS, "Contacts who may get bulk email and clicked lately."),
)
SCORING_RULES = [
    {"name": "Opened an email", "interaction_kind": InteractionKind.EMAIL_OPEN, "points": 10, "max_count": 5},
    {"name": "Clicked a link", "interaction_kind": InteractionKind.EMAIL_CLICK, "points": 15},
    {"name": "Visited the pricing page", "interaction_kind": InteractionKind.PAGE_VISIT, "points": 20,
     "url_contains": "pricing"},
    {"name": "Downloaded a whitepaper", "interaction_kind": InteractionKind.DOWNLOAD, "points": 40},
    {"name": "Submitted a form", "interaction_kind": InteractionKind.FORM_SUBMIT, "points": 30},
    {"name": "Attended an event", "interaction_kind": InteractionKind.EVENT_ATTENDANCE, "points": 50},
    {"name": "Decision maker", "points": 25,
     "condition": {"entity": "lead", "match": "all", "conditions": [
         {"related": "parent_contact", "quantifier": "exists", "match": "all",
          "conditions": [{"field": "job_role", "op": "eq", "value": "decision_maker"}]}]}},
]  # fmt: skip
GRADE_BANDS = [
    {"grade": "C", "min_score": 0, "max_score": 49},
    {"grade": "B", "min_score": 50, "max_score": 99},
    {"grade": "A", "min_score": 100, "max_score": None},
]

FOLLOW_UP_HTML = (
    '<p>Hello {{ contact.first_name|default:"there" }},</p>'
    "<p>Thank you for your interest in the Contoso Ltd Conference. "
    '<a href="https://example.com/contoso/agenda">See the agenda</a>.</p>'
)
JOURNEY_STEPS = [
    {
        "key": "agenda",
        "kind": "send_email",
        "config": {"subject": f"Your {CONTOSO_TOPIC} agenda", "html": FOLLOW_UP_HTML},
    },
    {"key": "wait", "kind": "wait_duration", "config": {"days": 3}},
    {
        "key": "opened",
        "kind": "if_interaction",
        "config": {"kind": "email_open", "email_step": "agenda"},
        "next": "task",
        "else": "end",
    },
    {
        "key": "task",
        "kind": "create_task",
        "config": {"title": "Call about the Contoso Ltd Conference", "due_in_days": 2},
        "next": "end",
    },
    {"key": "end", "kind": "end", "config": {}},
]


@transaction.atomic
def demo_definitions_ensure() -> list[str]:
    """Make the definitions that are missing (and put the demo's segments live); what was made."""
    made: list[str] = []
    segments = _segments_ensure(made)
    _scoring_model_ensure(made)
    _journey_ensure(made, entry_segment=segments[ENGAGED_SEGMENT_NAME])
    return made


def _segments_ensure(made: list[str]) -> dict[str, Segment]:
    segments = {}
    for name, definition, description in SEGMENTS:
        segment = Segment.objects.filter(name=name).first()
        if segment is None:
            segment = segment_create(name=name, definition=definition, description=description)
            made.append(f"segment '{name}'")
        if segment.status != SegmentStatus.LIVE:
            segment_go_live(segment=segment)
        segments[name] = segment
    return segments


def _scoring_model_ensure(made: list[str]) -> None:
    if ScoringModel.objects.filter(name=SCORING_MODEL_NAME).exists():
        return
    scoring_model_save(
        model=None,
        data={
            "name": SCORING_MODEL_NAME,
            "status": ScoringModelStatus.LIVE,
            "is_primary": not ScoringModel.objects.filter(is_primary=True).exists(),
            "sales_ready_threshold": 100,
            "decay_mode": DecayMode.WINDOW,
            "decay_days": 90,
        },
        rules=SCORING_RULES,
        grade_bands=GRADE_BANDS,
    )
    made.append(f"scoring model '{SCORING_MODEL_NAME}'")


def _journey_ensure(made: list[str], *, entry_segment: Segment) -> None:
    if Journey.objects.filter(name=JOURNEY_NAME).exists():
        return
    journey_create(
        data={"name": JOURNEY_NAME, "entry_type": "segment", "entry_segment_id": entry_segment.pk},
        steps=JOURNEY_STEPS,
    )
    made.append(f"draft journey '{JOURNEY_NAME}'")
