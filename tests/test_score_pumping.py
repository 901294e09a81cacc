"""Anonymous score pumping: replayed tracking links and repeated form posts score as one real action."""

import contextlib
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from crm_core import sqlpath
from crm_core.models import ConsentLevel, Interaction, InteractionKind
from crm_core.tests.factories import ContactFactory
from journeys import services as journey_services
from journeys.models import OutboundEmail
from journeys.tests.factories import SegmentMemberFactory, make_journey, send_email_step
from landing.tests.factories import LandingPageFactory
from landing.tests.utils import submit
from leadscoring import services as scoring
from leadscoring.models import ScoringRule
from leadscoring.tests.factories import PrimaryScoringModelFactory, ScoringRuleFactory

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Firefox/128.0"
CLICK_POINTS, FORM_POINTS = 15, 20


@pytest.fixture(autouse=True)
def _generous_form_limit(settings):
    settings.LANDING_RATE_LIMIT = "100000/minute"


@pytest.fixture
def victim():
    return ContactFactory(
        email="victim@example.com", first_name="Vic", last_name="Tim", consent_level=ConsentLevel.TRACKING
    )


@pytest.fixture
def model():
    """The worst case the issue probed: rules with no cap at all."""
    model = PrimaryScoringModelFactory(sales_ready_threshold=1000)
    ScoringRuleFactory(model=model, interaction_kind=InteractionKind.EMAIL_CLICK, points=CLICK_POINTS)
    ScoringRuleFactory(model=model, interaction_kind=InteractionKind.FORM_SUBMIT, points=FORM_POINTS)
    return model


def _delivered_email(contact, *, sent_ago=timedelta(hours=1), segment_id=1):
    """A journey email to `contact`, delivered `sent_ago`; (outbox row, tracked link path)."""
    SegmentMemberFactory(segment_id=segment_id, contact=contact)
    journey = journey_services.journey_go_live(
        journey=make_journey(steps=[send_email_step()], entry_segment_id=segment_id, name=f"J{segment_id}")
    )
    journey_services.journeys_tick(inline=True)
    row = OutboundEmail.objects.get(journey=journey)
    OutboundEmail.objects.filter(pk=row.pk).update(sent_at=timezone.now() - sent_ago)
    html = mail.outbox[-1].alternatives[0][0]
    link = html.split('<a href="')[1].split('"')[0].replace("http://127.0.0.1:8000", "")
    return row, link


def _score(model, contact, path="sql"):
    lead = contact.leads.get()
    with sqlpath.portable_path() if path != "sql" else contextlib.nullcontext():
        scoring.scoring_model_recompute(model=model)
        explanation = scoring.lead_score_explain(lead=lead, model=model)
    lead.refresh_from_db()
    return lead.score, explanation


@pytest.mark.parametrize("path", ["sql", "portable"])
def test_100_link_replays_and_10_anonymous_posts_score_as_one_click_and_one_post(victim, model, path):
    row, link = _delivered_email(victim)
    page = LandingPageFactory()
    for _ in range(100):
        assert Client().get(link, HTTP_USER_AGENT=BROWSER).status_code == 302
    for _ in range(10):
        submit(Client(), page, ip="10.0.0.7", email="victim@example.com", first_name="Vic", last_name="Tim")

    score, explanation = _score(model, victim, path)

    assert score == CLICK_POINTS + FORM_POINTS
    clicks = Interaction.objects.filter(contact=victim, kind=InteractionKind.EMAIL_CLICK)
    assert 1 < clicks.count() <= 20  # recorded up to the per-message rate limit, then only served
    assert Interaction.objects.filter(contact=victim, kind=InteractionKind.FORM_SUBMIT).count() == 10
    by_rule = {item["rule"]: item for item in explanation}
    click_rule = ScoringRule.objects.get(model=model, interaction_kind=InteractionKind.EMAIL_CLICK)
    form_rule = ScoringRule.objects.get(model=model, interaction_kind=InteractionKind.FORM_SUBMIT)
    assert by_rule[click_rule.name]["not_counted"] == [
        {"reason": "repeat", "count": clicks.count() - 1, "why": "repeated within the counting window"}
    ]
    assert by_rule[form_rule.name]["count"] == 1
    assert by_rule[form_rule.name]["not_counted"][0]["reason"] == "repeat"
    assert by_rule[form_rule.name]["not_counted"][0]["count"] == 9


def test_clicks_from_scanners_or_right_after_delivery_are_recorded_but_do_not_score(model):
    fast = ContactFactory(consent_level=ConsentLevel.TRACKING)
    _, link = _delivered_email(fast, sent_ago=timedelta(seconds=1))
    Client().get(link, HTTP_USER_AGENT=BROWSER)
    scanned = ContactFactory(consent_level=ConsentLevel.TRACKING)
    _, scanned_link = _delivered_email(scanned, segment_id=2)
    Client().get(scanned_link, HTTP_USER_AGENT="Mozilla/5.0 (compatible; Barracuda Sentinel)")
    for contact in (fast, scanned):
        contact.leads.create(topic="x")  # a lead to score
        click = Interaction.objects.get(contact=contact, kind=InteractionKind.EMAIL_CLICK)
        assert click.properties["unscored"] == "machine"
    scoring.scoring_model_recompute(model=model)
    for contact in (fast, scanned):
        assert contact.leads.get().score == 0


def test_a_real_click_a_day_later_counts_again(victim, model, settings):
    row, link = _delivered_email(victim)
    Client().get(link, HTTP_USER_AGENT=BROWSER)
    Interaction.objects.filter(contact=victim).update(occurred_at=timezone.now() - timedelta(days=2))
    Client().get(link, HTTP_USER_AGENT=BROWSER)
    victim.leads.create(topic="x")
    scoring.scoring_model_recompute(model=model)
    assert victim.leads.get().score == 2 * CLICK_POINTS


def test_new_interaction_rules_are_capped_by_default(settings):
    settings.SCORING_DEFAULT_RULE_CAP = 7
    model = scoring.scoring_model_save(
        model=None,
        data={"name": "Capped"},
        rules=[
            {"name": "click", "interaction_kind": InteractionKind.EMAIL_CLICK, "points": 5},
            {"name": "open", "interaction_kind": InteractionKind.EMAIL_OPEN, "points": 1, "max_count": None},
        ],
        grade_bands=None,
    )
    caps = dict(model.rules.values_list("name", "max_count"))
    assert caps == {"click": 7, "open": None}
