"""The orphan-lead workflow: every lead gets a parent contact, one contact per email."""

import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from config.celery_app import app as celery_app
from conftest import wait_until
from crm_core.models import Contact, ContactOrigin, Lead, WorkflowSettings
from crm_core.services import lead_create, lead_link_orphans, lead_update
from crm_core.tests.factories import AccountFactory, ContactFactory, LeadFactory, OrphanLeadFactory


@pytest.fixture
def eager_tasks():
    """Tasks enqueued on commit run in-process (the worker test below uses a real worker)."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


def _switch_workflow(enabled: bool) -> None:
    WorkflowSettings.objects.update_or_create(pk=1, defaults={"orphan_lead_workflow_enabled": enabled})


def _set_raw_email(lead: Lead, email: str) -> None:
    """Store an email as another program might have (mixed case, spaces), bypassing the ORM."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE crm_core_lead SET email = %s WHERE id = %s", [email, lead.pk])


@pytest.fixture(params=["postgresql", "portable"])
def link_path(request):
    """Run a test on the PostgreSQL statements and on the ORM path the SQLite default uses."""
    if request.param == "portable":
        request.getfixturevalue("portable_path")
    return request.param


@pytest.mark.django_db
@pytest.mark.usefixtures("link_path")
class TestLinkOrphans:
    def test_a_new_orphan_lead_gets_a_marketing_only_contact_made_from_it(self):
        account = AccountFactory()
        lead = OrphanLeadFactory(
            email="ann.lee@example.com",
            first_name="Ann",
            last_name="Lee",
            job_title="CTO",
            job_role="decision_maker",
            parent_account=account,
        )
        contacts_before = Contact.objects.count()

        result = lead_link_orphans()

        lead.refresh_from_db()
        contact = lead.parent_contact
        assert contact is not None
        assert Contact.objects.count() == contacts_before + 1
        assert (
            contact.email,
            contact.first_name,
            contact.last_name,
            contact.job_title,
            contact.job_role,
        ) == (
            "ann.lee@example.com",
            "Ann",
            "Lee",
            "CTO",
            "decision_maker",
        )
        assert contact.marketing_only is True
        assert contact.origin == ContactOrigin.ORPHAN_LEAD_WORKFLOW
        assert contact.parent_account == account
        # Model defaults for everything the lead does not say.
        assert contact.track_email is True and contact.do_not_bulk_email is False
        assert contact.consent_level == 0
        assert (result.leads_linked, result.contacts_created, result.contacts_matched) == (1, 1, 0)

    def test_company_becomes_the_parent_account_only_when_the_lead_has_one(self):
        lead = OrphanLeadFactory(company_name="Fabrikam", parent_account=None)
        lead_link_orphans()
        lead.refresh_from_db()
        assert lead.parent_contact.parent_account is None

    def test_a_lead_matching_an_existing_contact_in_any_case_is_linked_and_creates_nothing(self):
        contact = ContactFactory(email="bob@example.com", marketing_only=False)
        upper = OrphanLeadFactory()
        _set_raw_email(upper, "  Bob@EXAMPLE.com ")
        through_orm = OrphanLeadFactory(email="BOB@example.COM")
        contacts_before = Contact.objects.count()

        result = lead_link_orphans()

        assert Contact.objects.count() == contacts_before
        for lead in (upper, through_orm):
            lead.refresh_from_db()
            assert lead.parent_contact_id == contact.pk
        contact.refresh_from_db()
        assert contact.marketing_only is False  # an existing sales contact stays one
        assert (result.leads_linked, result.contacts_created, result.contacts_matched) == (2, 0, 1)

    def test_three_orphan_leads_with_one_email_make_one_contact(self):
        leads = [
            OrphanLeadFactory(email=email) for email in ("x@example.com", "X@Example.com", "x@EXAMPLE.COM")
        ]
        result = lead_link_orphans()
        parents = {Lead.objects.get(pk=lead.pk).parent_contact_id for lead in leads}
        assert len(parents) == 1 and None not in parents
        assert Contact.objects.filter(email="x@example.com").count() == 1
        assert (result.leads_linked, result.contacts_created) == (3, 1)

    def test_leads_without_email_get_a_contact_each(self):
        leads = [OrphanLeadFactory(email=None, first_name=f"N{i}") for i in range(3)]
        result = lead_link_orphans()
        contacts = [Lead.objects.get(pk=lead.pk).parent_contact for lead in leads]
        assert len({c.pk for c in contacts}) == 3
        assert [c.first_name for c in contacts] == ["N0", "N1", "N2"]
        assert all(c.email is None and c.marketing_only for c in contacts)
        assert (result.leads_linked, result.contacts_created) == (3, 3)

    def test_leads_with_a_parent_contact_are_left_alone_and_a_second_run_does_nothing(self):
        parented = LeadFactory()
        parent = parented.parent_contact_id
        OrphanLeadFactory(email="once@example.com")
        lead_link_orphans()
        contacts = Contact.objects.count()

        again = lead_link_orphans()

        assert (again.leads_linked, again.contacts_created, again.contacts_matched) == (0, 0, 0)
        assert Contact.objects.count() == contacts
        assert Lead.objects.get(pk=parented.pk).parent_contact_id == parent

    def test_lead_ids_limit_the_run_to_those_leads(self):
        chosen = OrphanLeadFactory()
        other = OrphanLeadFactory()
        lead_link_orphans(lead_ids=[chosen.pk])
        assert Lead.objects.get(pk=chosen.pk).parent_contact_id is not None
        assert Lead.objects.get(pk=other.pk).parent_contact_id is None

    @pytest.mark.parametrize("batch_size", [1, 3, 1000])
    def test_batches_of_any_size_give_the_same_links(self, batch_size):
        existing = ContactFactory(email="known@example.com")
        emails = [
            "known@example.com",
            "a@example.com",
            None,
            "a@example.com",
            "b@example.com",
            None,
            "b@x.com",
        ]
        leads = [OrphanLeadFactory(email=email) for email in emails]
        result = lead_link_orphans(batch_size=batch_size)
        parents = [Lead.objects.get(pk=lead.pk).parent_contact_id for lead in leads]
        assert parents[0] == existing.pk
        assert parents[1] == parents[3] and parents[4] != parents[1]
        assert len(set(parents)) == 6  # known, a, None#1, b, None#2, b@x
        assert (result.leads_linked, result.contacts_created, result.contacts_matched) == (7, 5, 1)


@pytest.mark.django_db
class TestSetBased:
    def test_the_number_of_queries_does_not_grow_with_the_number_of_leads(self):
        def run(n: int) -> list[str]:
            ids = [OrphanLeadFactory(email=f"q{i}-{n}@example.com" if i % 3 else None).pk for i in range(n)]
            with CaptureQueriesContext(connection) as captured:
                lead_link_orphans(lead_ids=ids)
            return [query["sql"] for query in captured.captured_queries if "SAVEPOINT" not in query["sql"]]

        small, large = run(3), run(60)
        assert len(small) == len(large) == 4  # lock the leads, insert contacts, link, no-email leads


def orphan_links(callbacks) -> list:
    """The on-commit callbacks that link orphan leads (other apps may add their own)."""
    return [c for c in callbacks if "lead_schedule_orphan_link" in c.__qualname__]


@pytest.mark.django_db
class TestAutomaticRuns:
    def test_creating_an_orphan_lead_links_it_after_commit(
        self, eager_tasks, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            lead = lead_create(topic="Demo", email="new@example.com")
            assert Lead.objects.get(pk=lead.pk).parent_contact_id is None  # not before commit
        assert len(orphan_links(callbacks)) == 1
        contact = Lead.objects.get(pk=lead.pk).parent_contact
        assert contact.email == "new@example.com" and contact.marketing_only

    def test_a_lead_with_a_parent_contact_enqueues_nothing(self, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks() as callbacks:
            lead_create(topic="Demo", parent_contact=ContactFactory())
        assert orphan_links(callbacks) == []

    def test_saving_a_lead_without_its_contact_links_it_again(
        self, eager_tasks, django_capture_on_commit_callbacks
    ):
        lead = LeadFactory(email="again@example.com")
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            lead_update(lead=lead, parent_contact=None)
        assert len(orphan_links(callbacks)) == 1
        assert Lead.objects.get(pk=lead.pk).parent_contact.email == "again@example.com"

    def test_nothing_runs_when_the_workflow_is_switched_off(self, django_capture_on_commit_callbacks):
        _switch_workflow(False)
        with django_capture_on_commit_callbacks() as callbacks:
            lead_create(topic="Demo", email="off@example.com")
        assert orphan_links(callbacks) == []

    def test_the_task_skips_when_the_workflow_was_switched_off_after_enqueueing(self):
        from crm_core.tasks import link_orphan_leads_task

        lead = OrphanLeadFactory()
        _switch_workflow(False)
        assert "skipped" in link_orphan_leads_task(lead_ids=[lead.pk])
        assert Lead.objects.get(pk=lead.pk).parent_contact_id is None
        assert link_orphan_leads_task(lead_ids=[lead.pk], only_if_enabled=False)["leads_linked"] == 1


@pytest.mark.django_db
class TestOnDemand:
    def test_the_command_links_every_orphan(self):
        for email in ("c1@example.com", "c1@example.com", None):
            OrphanLeadFactory(email=email)
        out = StringIO()
        call_command("link_orphan_leads", "--batch-size", "2", "--no-progress", stdout=out)
        assert not Lead.objects.filter(parent_contact__isnull=True).exists()
        assert "Linked 3 orphan leads: 2 marketing-only contacts created" in out.getvalue()

    def test_the_admin_action_links_the_selected_orphans(self, client, admin_user):
        chosen, other = OrphanLeadFactory(), OrphanLeadFactory()
        client.force_login(admin_user)
        response = client.post(
            reverse("admin:crm_core_lead_changelist"),
            {"action": "link_orphan_leads", "_selected_action": [chosen.pk]},
            follow=True,
        )
        assert response.status_code == 200
        assert "Linked 1 leads" in response.content.decode()
        assert Lead.objects.get(pk=chosen.pk).parent_contact_id is not None
        assert Lead.objects.get(pk=other.pk).parent_contact_id is None

    def test_the_workflow_switch_is_edited_in_admin(self, client, admin_user):
        client.force_login(admin_user)
        url = reverse("admin:crm_core_workflowsettings_change", args=[1])
        assert client.get(url).status_code == 200
        response = client.post(url, {})  # an unticked checkbox: off
        assert response.status_code == 302
        assert WorkflowSettings.objects.get(pk=1).orphan_lead_workflow_enabled is False
        assert client.get(reverse("admin:crm_core_workflowsettings_add")).status_code == 403


# --- Real concurrency and a real worker -------------------------------------------------------


def _in_thread(target, errors: list):
    def run():
        try:
            target()
        except Exception as error:  # reported by the test
            errors.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _backends_waiting_on_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_two_workers_linking_leads_with_one_email_at_once_create_one_contact():
    first_lead, second_lead = (
        OrphanLeadFactory(email="race@example.com"),
        OrphanLeadFactory(email="RACE@example.com"),
    )
    first_inserted, release_first = threading.Event(), threading.Event()
    errors: list = []

    def first():
        with transaction.atomic():
            lead_link_orphans(lead_ids=[first_lead.pk])  # inserts the contact, not committed yet
            first_inserted.set()
            assert release_first.wait(20)

    def second():
        assert first_inserted.wait(20)
        lead_link_orphans(lead_ids=[second_lead.pk])  # must wait for the first, then reuse its contact

    threads = [_in_thread(first, errors), _in_thread(second, errors)]
    try:
        # The second transaction really overlaps the first: it is blocked on the first's insert.
        wait_until(lambda: _backends_waiting_on_locks() >= 1, timeout=20)
    finally:
        release_first.set()
        for thread in threads:
            thread.join(30)
    assert errors == []
    contacts = Contact.objects.filter(email="race@example.com")
    assert contacts.count() == 1
    parents = set(
        Lead.objects.filter(pk__in=[first_lead.pk, second_lead.pk]).values_list(
            "parent_contact_id", flat=True
        )
    )
    assert parents == {contacts.get().pk}


@pytest.mark.django_db(transaction=True)
def test_many_workers_at_once_make_one_contact_per_email_without_deadlocks():
    emails = [f"crowd{i}@example.com" for i in range(8)]
    leads = [OrphanLeadFactory(email=emails[i % 8].upper() if i % 2 else emails[i % 8]) for i in range(48)]
    workers = 4
    barrier = threading.Barrier(workers)
    errors: list = []

    def work(share):
        def run():
            barrier.wait(20)
            lead_link_orphans(lead_ids=share, batch_size=4)

        return run

    # Each worker gets every 4th lead, so all of them race for all eight emails.
    threads = [_in_thread(work([lead.pk for lead in leads[k::workers]]), errors) for k in range(workers)]
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert not Lead.objects.filter(pk__in=[lead.pk for lead in leads], parent_contact__isnull=True).exists()
    for email in emails:
        contact = Contact.objects.get(email=email)
        assert Lead.objects.filter(email=email).exclude(parent_contact=contact).count() == 0
    assert Contact.objects.filter(origin=ContactOrigin.ORPHAN_LEAD_WORKFLOW).count() == 8


@pytest.mark.worker
def test_the_worker_links_an_orphan_lead_created_through_the_service(celery_worker_process):
    lead = lead_create(topic="Contoso Ltd Conference", email="Worker@Example.com")

    def linked_contact():
        return Lead.objects.filter(pk=lead.pk).values_list("parent_contact_id", flat=True).first()

    contact_id = wait_until(linked_contact, timeout=30)
    contact = Contact.objects.get(pk=contact_id)
    assert contact.email == "worker@example.com"
    assert contact.marketing_only and contact.origin == ContactOrigin.ORPHAN_LEAD_WORKFLOW
