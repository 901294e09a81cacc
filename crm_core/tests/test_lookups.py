"""`field__any_of=ids` (crm_core/lookups.py) selects what `field__in=ids` selects, on PostgreSQL as
one array parameter and on SQLite as an IN list."""

import pytest
from django.db import connection

from conftest import rerun_on_sqlite
from crm_core.models import Contact, Lead
from crm_core.tests.factories import ContactFactory, LeadFactory

pytestmark = pytest.mark.django_db


def test_any_of_selects_what_in_selects_on_keys_and_foreign_keys():
    contacts = ContactFactory.create_batch(4)
    leads = [LeadFactory(parent_contact=contact) for contact in contacts[:3]]
    wanted = [contacts[0].pk, contacts[2].pk, contacts[3].pk, 10**12]  # one id that does not exist
    assert set(Contact.objects.filter(id__any_of=wanted)) == set(Contact.objects.filter(id__in=wanted))
    assert set(Contact.objects.filter(id__any_of=wanted)) == {contacts[0], contacts[2], contacts[3]}
    assert set(Lead.objects.filter(parent_contact_id__any_of=wanted)) == {leads[0], leads[2]}
    assert set(Contact.objects.exclude(id__any_of=wanted)) == {contacts[1]}


def test_any_of_an_empty_list_selects_nothing_and_excludes_nothing():
    ContactFactory.create_batch(2)
    assert list(Contact.objects.filter(id__any_of=[])) == []
    assert Contact.objects.exclude(id__any_of=[]).count() == 2


def test_any_of_is_one_array_parameter_on_postgresql():
    sql, params = Contact.objects.filter(id__any_of=[3, 1, 2]).values("id").query.sql_with_params()
    if connection.vendor == "postgresql":
        assert "= ANY(%s::bigint[])" in sql and list(params) == ["{3,1,2}"]
    else:
        assert " IN (%s, %s, %s)" in sql and list(params) == [3, 1, 2]


def test_the_same_cases_hold_on_sqlite(tmp_path):
    """This module again, in a process on the embedded default's database (SQLite)."""
    run = rerun_on_sqlite(tmp_path, __file__, leave_out="test_the_same_cases_hold_on_sqlite")
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    assert connection.vendor == "postgresql" and "3 passed" in run.stdout, run.stdout[-2000:]
