"""The duplicate detection job's rules and its table, on PostgreSQL's statement and on the portable path
(and SQLite): every rule found, dismissals kept across runs, merged and deleted contacts' pairs gone,
a second run changing nothing, keyset pages and one contact's pairs."""

import pytest
from django.db import connection

from config.celery_app import app as celery_app
from conftest import rerun_on_sqlite
from crm_core.duplicates import duplicate_count, duplicate_pairs, scan_status
from crm_core.models import Contact, DuplicateCandidate, DuplicateScan, DuplicateScanState
from crm_core.services import (
    contacts_merge,
    duplicate_dismiss,
    duplicates_scan_request,
    duplicates_scan_run,
)
from crm_core.services import duplicate_scan as scan_service
from crm_core.tests.factories import AccountFactory, ContactFactory, LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["sql", "portable"])
def path(request):
    if request.param == "portable":
        request.getfixturevalue("portable_path")
    return request.param


def _people():
    acme = AccountFactory()
    p = {
        "ann": ContactFactory(
            first_name="Ann", last_name="Lee", email="ann.lee@acme.test", parent_account=acme
        ),
        "ann2": ContactFactory(first_name="ANN", last_name="lee", email=None, parent_account=acme),
        "other_acct": ContactFactory(first_name="Ann", last_name="Lee", email="a.l@else.test"),
        "bob": ContactFactory(first_name="Bob", last_name="Ray", email="bob.ray@old.test"),
        "bob_new": ContactFactory(first_name="Robert", last_name="Ray", email="bob.ray@new.test"),
        "cy": ContactFactory(first_name="Cy", last_name="Tan", email="cy.tan@corp.test"),
        "cy2": ContactFactory(first_name="C", last_name="T", email="cytan@corp.test"),
        "dee": ContactFactory(first_name="Dee", last_name="Oh", email="dee@home.test"),
        "dee_work": ContactFactory(first_name="D", last_name="O", email="d.oh@work.test"),
        "loner": ContactFactory(first_name="Lone", last_name="Wolf", email="zz@x.test"),
        # Three addresses of one name: every pair of the three.
        "sam1": ContactFactory(first_name="S1", last_name="K", email="samkay@one.test"),
        "sam2": ContactFactory(first_name="S2", last_name="K", email="samkay@two.test"),
        "sam3": ContactFactory(first_name="S3", last_name="K", email="samkay@three.test"),
    }
    # Dee's lead (linked to her) carries the work contact's email.
    LeadFactory(parent_contact=p["dee"], email="d.oh@work.test")
    return p


def _found(page):
    return {(pair.a_id, pair.b_id): set(pair.reasons) for pair in page.pairs}


def _pair(p, x, y):
    return tuple(sorted((p[x].pk, p[y].pk)))


def _table():
    return sorted(
        DuplicateCandidate.objects.values_list(
            "contact_a_id", "contact_b_id", "reasons", "found_at", "dismissed"
        )
    )


def test_each_rule_finds_its_pairs_and_nothing_else(path):
    p = _people()
    counts = duplicates_scan_run()
    found = _found(duplicate_pairs(limit=50))
    assert found[_pair(p, "ann", "ann2")] == {"same_name_account"}
    assert found[_pair(p, "bob", "bob_new")] == {"email_other_domain"}
    assert found[_pair(p, "cy", "cy2")] == {"email_similar"}
    assert found[_pair(p, "dee", "dee_work")] == {"lead_email"}
    for x, y in (("sam1", "sam2"), ("sam1", "sam3"), ("sam2", "sam3")):
        assert found[_pair(p, x, y)] == {"email_other_domain"}
    assert len(found) == 7, found  # not Ann at another account, not the loner
    assert counts["pairs"] == counts["added"] == duplicate_count() == 7
    assert scan_status().last.pairs == 7 and scan_status().active is None


def test_a_key_shared_by_too_many_contacts_makes_no_pairs(path, monkeypatch):
    p = _people()
    monkeypatch.setattr(scan_service, "MAX_GROUP", 2)
    duplicates_scan_run()
    found = _found(duplicate_pairs(limit=50))
    assert _pair(p, "sam1", "sam2") not in found and _pair(p, "bob", "bob_new") in found


def test_a_second_run_changes_nothing_and_dismissals_survive(path):
    p = _people()
    duplicates_scan_run()
    first = _table()
    again = duplicates_scan_run()
    assert _table() == first and again["added"] == again["removed"] == 0
    duplicate_dismiss(a=p["cy2"].pk, b=p["cy"].pk)  # either order
    assert _pair(p, "cy", "cy2") not in _found(duplicate_pairs(limit=50)) and duplicate_count() == 6
    # Bob's new address changes: his pair goes; Cy's dismissed pair stays dismissed, even unmatched.
    Contact.objects.filter(pk=p["bob_new"].pk).update(email="robert@new.test")
    Contact.objects.filter(pk=p["cy2"].pk).update(email="c.t@corp.test")
    counts = duplicates_scan_run()
    assert counts["removed"] == 1 and _pair(p, "bob", "bob_new") not in _found(duplicate_pairs(limit=50))
    assert DuplicateCandidate.objects.get(contact_a=p["cy"], contact_b=p["cy2"]).dismissed
    Contact.objects.filter(pk=p["cy2"].pk).update(email="cytan@corp.test")
    duplicates_scan_run()
    assert _pair(p, "cy", "cy2") not in _found(duplicate_pairs(limit=50))
    assert duplicate_count() == 5


def test_merged_and_deleted_contacts_pairs_go(path):
    p = _people()
    duplicates_scan_run()
    contacts_merge(survivor_id=p["ann"].pk, other_id=p["ann2"].pk)
    assert not DuplicateCandidate.objects.filter(contact_b=p["ann2"].pk).exists()
    Contact.objects.filter(pk=p["sam3"].pk).delete()  # deleted some other way: not shown at once
    found = _found(duplicate_pairs(limit=50))
    assert all(p["sam3"].pk not in pair for pair in found) and duplicate_count() == 4
    duplicates_scan_run()
    assert not DuplicateCandidate.objects.filter(contact_b=p["sam3"].pk).exists()
    assert len(_table()) == 4


def test_pages_follow_each_other_without_loss_or_repeat(path):
    _people()
    duplicates_scan_run()
    everything = _found(duplicate_pairs(limit=50))
    seen, after, pages = [], None, 0
    while True:
        page = duplicate_pairs(after=after, limit=2)
        seen += [(pair.a_id, pair.b_id) for pair in page.pairs]
        pages += 1
        if page.next_after is None:
            break
        assert len(page.pairs) == 2  # every page full but the last
        after = page.next_after
    assert seen == sorted(everything) and pages == 4


def test_one_contacts_pairs_include_a_contact_new_since_the_scan(path):
    p = _people()
    duplicates_scan_run()
    one = duplicate_pairs(contact_id=p["bob_new"].pk)
    assert _found(one) == {_pair(p, "bob", "bob_new"): {"email_other_domain"}}
    late = ContactFactory(first_name="B", last_name="R", email="bob.ray@later.test")
    mine = _found(duplicate_pairs(contact_id=late.pk))  # not stored yet: the live probe's
    assert mine and all(
        late.pk in pair and reasons == {"email_other_domain"} for pair, reasons in mine.items()
    )
    for a, b in mine:
        duplicate_dismiss(a=a, b=b)
    assert _found(duplicate_pairs(contact_id=late.pk)) == {}


def test_scan_now_queues_one_scan_that_runs(path, django_capture_on_commit_callbacks):
    p = _people()
    previous, celery_app.conf.task_always_eager = celery_app.conf.task_always_eager, True
    try:
        with django_capture_on_commit_callbacks(execute=False) as queued:
            first = duplicates_scan_request()
            assert duplicates_scan_request() == first and scan_status().active == first
        assert len(queued) == 1
        queued[0]()  # the task runs (eager)
    finally:
        celery_app.conf.task_always_eager = previous
    scan = DuplicateScan.objects.get(pk=first.pk)
    assert scan.state == DuplicateScanState.DONE and scan.pairs == 7 and scan.started_at
    assert duplicates_scan_run(scan_id=first.pk) == {"skipped": f"scan {first.pk} is not queued"}
    assert _pair(p, "ann", "ann2") in _found(duplicate_pairs(limit=50))


def test_the_beat_runs_the_scan_nightly(path, settings):
    from crm_core.tasking import task_by_name

    entry = settings.CELERY_BEAT_SCHEDULE["crm-core-duplicates-scan"]
    assert entry["task"] == "crm_core.duplicates_scan" and entry["schedule"].hour == {
        settings.DUPLICATES_SCAN_HOUR
    }
    _people()
    assert task_by_name("crm_core.duplicates_scan")()["pairs"] == 7  # the beat's call: a new scan


def test_dismissing_refuses_the_same_or_an_unknown_contact(path):
    from django.core.exceptions import ValidationError

    p = _people()
    with pytest.raises(ValidationError, match="not a duplicate of itself"):
        duplicate_dismiss(a=p["ann"].pk, b=p["ann"].pk)
    with pytest.raises(ValidationError, match="There is no contact"):
        duplicate_dismiss(a=p["ann"].pk, b=10**12)
    assert not DuplicateCandidate.objects.exists()


def test_the_same_rules_hold_on_sqlite(tmp_path):
    run = rerun_on_sqlite(tmp_path, __file__, leave_out="test_the_same_rules_hold_on_sqlite")
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    assert connection.vendor == "postgresql" and "18 passed" in run.stdout, run.stdout[-2000:]
