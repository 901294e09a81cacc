"""Custom fields in segments' other places: the registry the builder reads (type, choices, label),
definitions in words (the label, renamed freely), and the members' CSV export (a `custom.<key>`
column per contact field, as an import reads it back), on both SQL paths."""

import csv
import io

import pytest

from crm_core import custom_fields
from crm_core.models import CustomField
from crm_core.services import custom_field_create, custom_field_update
from crm_core.tests.factories import ContactFactory
from segments.compiler import describe_definition
from segments.models import Segment, SegmentKind
from segments.services import segment_members_add

pytestmark = pytest.mark.django_db


@pytest.fixture
def fields():
    made = {}
    for key, kind, choices in (
        ("nick", "text", []),
        ("tier", "choice", [{"value": "gold", "label": "Gold plan"}, "silver"]),
        ("seats", "number", []),
        ("vip", "boolean", []),
        ("renewal", "date", []),
        ("tools", "multi_choice", ["crm", "erp", "bi"]),
    ):
        made[key] = custom_field_create(
            entity="contact", key=key, label=key.title(), field_type=kind, choices=choices
        )
    custom_field_create(entity="lead", key="budget", label="Budget", field_type="number")
    return made


def test_the_registry_lists_custom_fields_with_their_type_and_choices(marketer_client, fields):
    registry = marketer_client.get("/api/segments/registry/").json()
    by_name = {f["name"]: f for f in registry["entities"]["contact"]["fields"]}
    assert by_name["custom.tier"]["type"] == "choice" and by_name["custom.tier"]["label"] == "Tier"
    assert {"value": "gold", "label": "Gold plan"} in by_name["custom.tier"]["choices"]
    assert by_name["custom.tools"]["type"] == "multi_choice"
    assert {by_name[f"custom.{k}"]["type"] for k in ("nick", "seats", "vip", "renewal")} == {
        "text", "number", "boolean", "date"
    }  # fmt: skip
    assert "custom.budget" in {f["name"] for f in registry["entities"]["lead"]["fields"]}
    assert "custom.budget" not in by_name


def test_definitions_in_words_use_the_label_and_follow_a_rename(fields):
    definition = {"entity": "contact", "conditions": [{"field": "custom.tier", "op": "eq", "value": "gold"}]}
    assert "tier" in describe_definition(definition) and "Gold plan" in describe_definition(definition)
    custom_field_update(custom_field=CustomField.objects.get(key="tier"), label="Customer tier")
    assert "customer tier" in describe_definition(definition)


@pytest.fixture(params=["postgres", "portable"])
def sql_path(request):
    if request.param == "portable":
        request.getfixturevalue("portable_path")
    return request.param


def test_the_members_export_has_a_column_per_custom_field_that_imports_read_back(
    marketer_client, fields, sql_path
):
    ada = ContactFactory(
        email="ada@example.com",
        custom={"nick": "Ace, the first", "tier": "gold", "seats": 2.5, "vip": False,
                "renewal": "2031-05-04", "tools": ["crm", "bi"]},
    )  # fmt: skip
    bob = ContactFactory(email="bob@example.com", custom={})
    segment = Segment.objects.create(name="Static", kind=SegmentKind.STATIC)
    segment_members_add(segment_id=segment.pk, contact_ids=[ada.pk, bob.pk])

    response = marketer_client.get(f"/api/segments/{segment.pk}/export/")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    custom_columns = [
        "custom.nick",
        "custom.tier",
        "custom.seats",
        "custom.vip",
        "custom.renewal",
        "custom.tools",
    ]
    assert list(rows[0])[-6:] == custom_columns
    assert {c: rows[0][c] for c in custom_columns} == {
        "custom.nick": "Ace, the first", "custom.tier": "gold", "custom.seats": "2.5",
        "custom.vip": "false", "custom.renewal": "2031-05-04", "custom.tools": "crm;bi",
    }  # fmt: skip
    assert [rows[1][c] for c in custom_columns] == [""] * 6
    # Each cell reads back as the stored value (the import's parser).
    for column in custom_columns:
        field = fields[column.removeprefix("custom.")]
        parsed = custom_fields.value_clean(field, custom_fields.parse_text(field, rows[0][column]))
        assert parsed == ada.custom[field.key], column
