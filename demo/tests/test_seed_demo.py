from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from crm_core.models import (
    Account,
    Contact,
    ContactOrigin,
    Interaction,
    JobRole,
    Lead,
    LeadStatus,
    Opportunity,
)
from demo.seeding import seed_demo
from demo.vocabulary import CONTOSO_TOPIC, lead_topics

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_the_counts_it_was_asked_for():
    counts = seed_demo(contacts=400, seed=7)
    assert Contact.objects.count() == counts.contacts == 400
    assert Account.objects.count() == counts.accounts == 20
    assert Lead.objects.count() == counts.leads
    assert Lead.objects.filter(parent_contact__isnull=True).count() == counts.orphan_leads == 80
    # About 2 leads per contact, about 10% of them orphans.
    assert 1.7 <= counts.leads / counts.contacts <= 2.3
    assert 0.07 <= counts.orphan_leads / counts.leads <= 0.13
    # About 10 interactions per contact.
    assert Interaction.objects.count() == counts.interactions
    assert 8 <= counts.interactions / counts.contacts <= 12
    assert Opportunity.objects.count() == counts.opportunities > 0


def test_seed_demo_data_is_realistic():
    seed_demo(contacts=400, seed=7)
    assert len(lead_topics()) == 200
    assert Lead.objects.filter(topic=CONTOSO_TOPIC).exists()
    assert Contact.objects.values("job_role").distinct().count() == len(JobRole.choices)
    orphan_emails = Lead.objects.filter(parent_contact__isnull=True).values_list("email", flat=True)
    contact_emails = set(Contact.objects.values_list("email", flat=True))
    assert any(e in contact_emails for e in orphan_emails), "some orphans share a contact's email"
    assert any(e is None for e in orphan_emails), "some orphans have no email"
    shared = [e for e in orphan_emails if e and e.endswith("@shared.example")]
    assert len(shared) > len(set(shared)), "some orphans share an email with each other"


def test_seed_demo_is_reproducible():
    def snapshot():
        return list(Contact.objects.order_by("id").values_list("first_name", "last_name", "job_role"))

    seed_demo(contacts=120, seed=3)
    first = snapshot()
    for model in (Interaction, Opportunity, Lead, Contact, Account):
        model.objects.all().delete()
    seed_demo(contacts=120, seed=3)
    assert snapshot() == first


def test_the_portable_path_writes_the_rows_copy_writes(request):
    """bulk_create (the embedded default's path) and COPY store the same rows for the same seed."""

    def snapshot():
        return (
            list(Contact.objects.order_by("id").values_list("id", "email", "job_role", "parent_account_id")),
            list(
                Lead.objects.order_by("id").values_list("id", "topic", "email", "status", "parent_contact_id")
            ),
            list(Interaction.objects.order_by("id").values_list("contact_id", "kind", "properties")),
        )

    seed_demo(contacts=120, seed=3)
    copied = snapshot()
    for model in (Interaction, Opportunity, Lead, Contact, Account):
        model.objects.all().delete()
    request.getfixturevalue("portable_path")
    seed_demo(contacts=120, seed=3)
    assert snapshot() == copied


def test_seed_demo_command_with_if_empty_adds_nothing_twice(capsys):
    call_command("seed_demo", contacts=50, no_progress=True, rows_only=True)
    call_command("seed_demo", contacts=50, no_progress=True, if_empty=True)
    assert Contact.objects.count() == 50
    assert "no demo data added" in capsys.readouterr().out


def test_the_demo_tells_the_story_the_dashboard_shows(client, marketer, capsys):
    """`seed_demo --contacts 2000`, as `make run` calls it: the rows, the definitions, then what
    production would have run on them (orphan workflow, scoring, sales, segments)."""
    from crm_core.selectors import VIEW_MARKETING, VIEW_SALES, contacts_in_view
    from leadscoring.models import ScoringModel
    from segments.models import Segment

    call_command("seed_demo", contacts=2000, no_progress=True)
    assert "Ran the workflows" in capsys.readouterr().out

    # Interactions carry objects, not JSON text.
    assert all(isinstance(p, dict) for p in Interaction.objects.values_list("properties", flat=True)[:500])
    # The orphan workflow ran: no orphans left, marketing-only contacts exist, the two views differ.
    assert not Lead.objects.filter(parent_contact__isnull=True).exists()
    marketing_only = Contact.objects.filter(marketing_only=True, origin=ContactOrigin.ORPHAN_LEAD_WORKFLOW)
    assert marketing_only.count() > 100
    everyone = Contact.objects.all()
    sales_view = contacts_in_view(contacts=everyone, view=VIEW_SALES).count()
    marketing_view = contacts_in_view(contacts=everyone, view=VIEW_MARKETING).count()
    assert sales_view == marketing_view - Contact.objects.filter(marketing_only=True).count() < marketing_view
    # Scoring ran: statuses agree with scores under the primary model's threshold.
    threshold = ScoringModel.objects.get(is_primary=True).sales_ready_threshold
    handed_over = Lead.objects.filter(status__in=[LeadStatus.MARKETING_QUALIFIED, LeadStatus.SALES_ACCEPTED])
    assert handed_over.count() > 20
    assert not handed_over.filter(score__lt=threshold).exists()
    assert not Lead.objects.filter(
        status__in=[LeadStatus.NEW, LeadStatus.NURTURE], score__gte=threshold
    ).exists()
    assert Lead.objects.filter(status=LeadStatus.SALES_ACCEPTED).exists()
    assert Lead.objects.filter(status=LeadStatus.QUALIFIED).count() == (
        Lead.objects.filter(opportunities__isnull=False).distinct().count()
    )
    # The segments were refreshed: the flagship segment has members, all of them decision makers.
    flagship = Segment.objects.get(name="Contoso Ltd Conference decision makers")
    assert flagship.member_count >= 10
    assert set(flagship.memberships.values_list("contact__job_role", flat=True)) == {JobRole.DECISION_MAKER}

    # The dashboard shows it.
    client.force_login(marketer)
    year_ago = (timezone.localdate() - timedelta(days=366)).isoformat()
    page = client.get(
        reverse("workspace:dashboard"), {"date_from": year_ago, "date_to": timezone.localdate()}
    )
    assert page.status_code == 200
    shown = {s.name: s.member_count for s in page.context["segments"]}
    assert shown[flagship.name] == flagship.member_count
    totals = page.context["totals"]
    assert totals["orphan_workflow_contacts"] == marketing_only.count() and totals["unlinked_orphans"] == 0
    assert 0 < totals["sales_accepted"] < totals["marketing_qualified"]
