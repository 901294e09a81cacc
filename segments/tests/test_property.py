"""Random trees on random small data: the compiled query returns exactly what a plain-Python
evaluation of the contract's semantics returns (segments/tests/trees.py), on PostgreSQL and on the
embedded SQLite default. The data has empty values (NULL and "" columns, JSON keys missing or null,
contacts without an account or related rows) and every node may be negated: `negate` is plain NOT.
Custom fields of every type (text, number, date, choice, multiple choice, boolean on contacts; a
number on leads, a text on accounts) are drawn next to the built-in ones, with their values missing,
JSON null, "" or [], so the same NULL/empty rules are checked on them."""

import json
import os

import pytest
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import rerun_on_sqlite
from segments.compiler import contacts_queryset
from segments.models import Segment, SegmentKind

from .trees import bind_segment, contact_trees, definition_matches, people, people_write

EXAMPLES = int(os.environ.get("SEGMENTS_PROPERTY_EXAMPLES", "150"))


@pytest.mark.django_db
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=people, trees=st.lists(contact_trees, min_size=1, max_size=6))
def test_compiled_query_equals_python_evaluation(rows, trees):
    segment = Segment.objects.get_or_create(name="property", kind=SegmentKind.STATIC)[0]
    now = timezone.now()
    records = people_write(rows, segment_id=segment.pk, now=now)
    for tree in trees:  # several trees over each data set: querying is cheap, writing the rows is not
        definition = bind_segment(tree, segment.pk)
        expected = {pk for pk, record in records.items() if definition_matches(record, definition, now)}
        found = set(contacts_queryset(definition).values_list("pk", flat=True))
        assert found == expected, json.dumps({"definition": definition, "records": records}, default=str)


@pytest.mark.django_db
def test_a_negated_in_keeps_the_contacts_without_a_value():
    segment = Segment.objects.create(name="property", kind=SegmentKind.STATIC)
    nothing = {"account": None, "leads": [], "opportunities": [], "interactions": [], "subscriptions": []}
    rows = [
        {"job_role": "", "country": "", "has_email": has_email, "consent_level": 0,
         "do_not_bulk_email": False, "in_segment": False, **nothing}
        for has_email in (True, False)
    ]  # fmt: skip
    records = people_write(rows, segment_id=segment.pk, now=timezone.now())
    definition = {"entity": "contact", "conditions": [
        {"field": "email", "op": "in", "value": ["p0@example.com", "p"], "negate": True}]}  # fmt: skip
    without_email = [pk for pk, record in records.items() if record["email"] is None]
    assert list(contacts_queryset(definition).values_list("pk", flat=True)) == without_email


def test_the_same_properties_hold_on_sqlite(tmp_path):
    """The module again, in a process on the embedded default's database (SQLite)."""
    run = rerun_on_sqlite(tmp_path, __file__, leave_out="test_the_same_properties_hold_on_sqlite")
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    assert connection.vendor == "postgresql" and "2 passed" in run.stdout, run.stdout[-2000:]
