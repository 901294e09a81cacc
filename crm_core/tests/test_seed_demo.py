import pytest
from django.core.management import call_command

from crm_core.demo import CONTOSO_TOPIC, lead_topics, seed_demo
from crm_core.models import Account, Contact, Interaction, JobRole, Lead, Opportunity

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


def test_seed_demo_command_with_if_empty_adds_nothing_twice(capsys):
    call_command("seed_demo", contacts=50, no_progress=True)
    call_command("seed_demo", contacts=50, no_progress=True, if_empty=True)
    assert Contact.objects.count() == 50
    assert "no demo data added" in capsys.readouterr().out
