import pytest
from django.db import IntegrityError, connection, transaction

from crm_core.models import Contact, Lead

from .factories import ContactFactory, OrphanLeadFactory

pytestmark = pytest.mark.django_db


def test_email_is_stored_normalised():
    contact = ContactFactory(email="  Ada.Lovelace@Example.COM ")
    contact.refresh_from_db()
    assert contact.email == "ada.lovelace@example.com"
    assert Contact.objects.filter(email="ADA.LOVELACE@example.com").get() == contact


def test_blank_email_is_stored_as_null_and_many_contacts_may_have_none():
    first = ContactFactory(email="  ")
    ContactFactory(email=None)
    first.refresh_from_db()
    assert first.email is None
    assert Contact.objects.filter(email__isnull=True).count() == 2


def test_email_differing_only_in_case_is_refused_by_the_database():
    ContactFactory(email="grace@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        ContactFactory(email="GRACE@example.com")


def test_database_refuses_a_raw_insert_that_bypasses_the_orm():
    ContactFactory(email="linus@example.com")
    table = Contact._meta.db_table
    columns = (
        "first_name, last_name, email, phone, job_title, job_role, country, city, marketing_only, origin, "
        "do_not_bulk_email, do_not_email, allow_prefill, track_email, consent_level, is_minor, "
        "guardian_consent, created_at, updated_at"
    )
    values = (
        "'', '', %s, '', '', '', '', '', false, 'manual', "
        "false, false, false, true, 0, false, false, now(), now()"
    )
    for email in ("LINUS@example.com", "Linus@Example.com "):
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {table} ({columns}) VALUES ({values})", [email])


def test_lead_parent_contact_uses_the_parentcontactid_column():
    field = Lead._meta.get_field("parent_contact")
    assert field.column == "parentcontactid"
    assert field.remote_field.related_name == "leads"
    lead = OrphanLeadFactory(email="Orphan@Example.com")
    assert lead.parent_contact is None
    lead.refresh_from_db()
    assert lead.email == "orphan@example.com"


def test_contact_has_many_leads():
    contact = ContactFactory()
    OrphanLeadFactory(parent_contact=contact, topic="A")
    OrphanLeadFactory(parent_contact=contact, topic="B")
    assert sorted(contact.leads.values_list("topic", flat=True)) == ["A", "B"]
