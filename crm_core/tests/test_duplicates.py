"""The duplicate finder's rules, on PostgreSQL's statement and on the portable path (and SQLite)."""

import pytest
from django.db import connection

from conftest import rerun_on_sqlite
from crm_core.duplicates import duplicate_pairs
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
    }
    # Dee's lead (linked to her) carries the work contact's email.
    LeadFactory(parent_contact=p["dee"], email="d.oh@work.test")
    return p


def _found(page):
    return {(pair.a_id, pair.b_id): set(pair.reasons) for pair in page.pairs}


def _pair(p, x, y):
    return tuple(sorted((p[x].pk, p[y].pk)))


def test_each_rule_finds_its_pair_and_nothing_else(path):
    p = _people()
    found = _found(duplicate_pairs(limit=50))
    assert found[_pair(p, "ann", "ann2")] == {"same_name_account"}
    assert found[_pair(p, "bob", "bob_new")] == {"email_other_domain"}
    assert found[_pair(p, "cy", "cy2")] == {"email_similar"}
    assert found[_pair(p, "dee", "dee_work")] == {"lead_email"}
    assert len(found) == 4, found  # not Ann at another account, not the loner


def test_pages_follow_each_other_without_loss_or_repeat(path):
    p = _people()
    everything = _found(duplicate_pairs(limit=50))
    seen, after, pages = [], None, 0
    while True:
        page = duplicate_pairs(after=after, limit=1, scan=3)
        seen += [(pair.a_id, pair.b_id) for pair in page.pairs]
        pages += 1
        if page.next_after is None:
            break
        after = page.next_after
    assert sorted(seen) == sorted(everything) and len(seen) == len(set(seen))
    assert pages > 4
    one = duplicate_pairs(contact_id=p["bob_new"].pk)
    assert _found(one) == {_pair(p, "bob", "bob_new"): {"email_other_domain"}}


def test_the_same_rules_hold_on_sqlite(tmp_path):
    run = rerun_on_sqlite(tmp_path, __file__, leave_out="test_the_same_rules_hold_on_sqlite")
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    assert connection.vendor == "postgresql" and "4 passed" in run.stdout, run.stdout[-2000:]
