"""The indexes on contact and lead: exactly the ones queries read, and the writes they leave HOT.

An index added to either table must name the query that reads it (docs/architecture.md, "Indexes
on contact and lead"): every index costs each insert, and each update that is not HOT, one entry.
"""

import pytest
from django.db import connection

from crm_core.models import Contact, IdentityStatus, Lead
from crm_core.services.scores import SqlRows, leads_scores_apply
from crm_core.tests.factories import ContactFactory, LeadFactory

pytestmark = pytest.mark.django_db

CONTACT_INDEXES = {
    "crm_core_contact_pkey",
    "contact_email_ci_unique",  # uniqueness; every email lookup and the orphan link's join
    "contact_email_trgm_idx",  # the three: search (icontains on names and email)
    "contact_first_name_trgm_idx",
    "contact_last_name_trgm_idx",
    "contact_view_idx",  # the sales view, newest first
    "contact_job_role_idx",  # list and API filters, segments' job-role conditions
    "contact_country_idx",  # list and API filters (a rare country)
    "contact_last_name_idx",  # (last_name, id) orderings: list, account page, API
    "contact_guardian_idx",  # partial: deleting a contact clears its wards' guardian
    "crm_core_contact_created_at_3f12c8d1",  # dashboard period, API ordering
    "crm_core_contact_owner_id_4f949589",  # "my contacts", deleting a user
    "crm_core_contact_parent_account_id_23ab2480",  # account page and timeline, account filter
    "contact_custom_gin_idx",  # jsonb_path_ops: custom-field equality (segments, API filter) as @>
}
LEAD_INDEXES = {
    "crm_core_lead_pkey",
    "crm_core_lead_parentcontactid_b70c77ce",  # a contact's leads: pages, Exists, scoring, journeys
    "crm_core_lead_parent_account_id_61d47640",  # account page and timeline
    "crm_core_lead_owner_id_bcbd1ea7",  # a rep's accepted leads, deleting a user
    "crm_core_lead_created_at_c166bf87",  # journeys' lead-created entry, dashboard, API ordering
    "lead_topic_idx",  # API topic filter and ordering
    "lead_topic_upper_idx",  # segments' topic conditions (UPPER(topic) = UPPER(...))
    "lead_status_idx",  # a rep's accepted leads (with owner), segments' status conditions
    "lead_email_lower_idx",  # privacy's orphan leads by email, API email filter
    "lead_orphan_idx",  # partial: the orphan-lead workflow's batches
    "lead_queue_idx",  # partial: a rep's queue
    "lead_sales_ready_contact_idx",  # partial: "has a sales-ready lead" per contact
    "lead_identity_conflict_idx",  # partial: the identity review list
    "lead_conflict_contact_idx",  # partial: deleting a contact clears conflicts held against it
    "lead_custom_gin_idx",  # jsonb_path_ops: custom-field equality (segments, API filter) as @>
}


def _indexes(table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [table])
        return {name for (name,) in cursor.fetchall()}


def test_contact_and_lead_have_exactly_the_indexes_queries_read():
    assert _indexes(Contact._meta.db_table) == CONTACT_INDEXES
    assert _indexes(Lead._meta.db_table) == LEAD_INDEXES


def test_lead_pages_keep_room_for_hot_updates():
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s", [Lead._meta.db_table])
        assert "fillfactor=60" in cursor.fetchone()[0]


def _hot_updates() -> tuple[int, int]:
    """(updates, HOT updates) of lead in the current transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_stat_get_xact_tuples_updated(%s::regclass), "
            "pg_stat_get_xact_tuples_hot_updated(%s::regclass)",
            [Lead._meta.db_table] * 2,
        )
        return cursor.fetchone()


@pytest.mark.parametrize("path", ["sql", "portable"])
def test_a_score_copy_is_a_hot_update(path):
    leads = LeadFactory.create_batch(3, score=0)
    rows = [(lead.pk, 40 + i, "B", False) for i, lead in enumerate(leads)]
    if path == "sql":
        values = ", ".join(["(%s::bigint, %s::int, %s::varchar, %s::boolean)"] * len(rows))
        source = SqlRows(f"SELECT * FROM (VALUES {values}) v", [v for row in rows for v in row])
    else:
        source = rows
    updated, hot = _hot_updates()
    assert leads_scores_apply(scores=source) == 3
    assert _hot_updates() == (updated + 3, hot + 3)


def _plan(queryset) -> str:
    """The plan with sequential scans priced out: which index can serve the query at any size."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    try:
        return queryset.explain()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = on")


@pytest.mark.parametrize(
    "query, index",
    [
        (lambda c: Contact.objects.filter(email=f"  {c.email.upper()} "), "contact_email_ci_unique"),
        (lambda c: Contact.objects.filter(email__in=[c.email, "x@example.com"]), "contact_email_ci_unique"),
        (lambda c: Lead.objects.filter(email=c.email.upper()), "lead_email_lower_idx"),
        (
            lambda c: Lead.objects.filter(sales_ready=True).values("parent_contact"),
            "lead_sales_ready_contact_idx",
        ),
        (lambda c: Lead.objects.filter(identity_conflict_contact__in=[c]), "lead_conflict_contact_idx"),
        (lambda c: Contact.objects.filter(guardian__in=[c]), "contact_guardian_idx"),
    ],
    ids=["contact email", "contact emails", "lead email", "sales-ready per contact", "conflicts", "wards"],
)
def test_the_queries_that_need_them_can_read_the_new_indexes(query, index):
    contact = ContactFactory(email="ada@example.com")
    LeadFactory(parent_contact=contact, sales_ready=True)
    LeadFactory(
        parent_contact=None, identity_status=IdentityStatus.CONFLICT, identity_conflict_contact=contact
    )
    ContactFactory(guardian=contact, is_minor=True)
    assert index in _plan(query(contact))


def test_email_lookups_find_the_normalised_address_whatever_the_case():
    contact = ContactFactory(email="ada@example.com")
    ContactFactory(email=None)
    assert list(Contact.objects.filter(email=" Ada@Example.COM ")) == [contact]
    assert list(Contact.objects.filter(email__in=["ADA@example.com", "nobody@example.com"])) == [contact]
    assert contact not in Contact.objects.exclude(email="ADA@EXAMPLE.COM")
    assert Contact.objects.exclude(email="ada@example.com").count() == 1  # the one without an email
    assert Contact.objects.filter(email="").count() == 1  # empty is no address: NULL
