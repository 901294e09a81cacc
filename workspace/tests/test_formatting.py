"""Numbers and dates written one way across the app: the `number` filter (a template builtin) and
the date formats of config/formats/en/formats.py."""

import datetime as dt
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import timezone

from workspace.templatetags.formatting import number


@pytest.mark.parametrize(
    ("value", "args", "shown"),
    [
        (1234567, (), "1,234,567"),
        (999, (), "999"),
        (-12000, (), "-12,000"),
        (0, (), "0"),
        (Decimal("25000.00"), (), "25,000"),
        (Decimal("25000.5"), (), "25,000.50"),
        (1234.5678, (1,), "1,234.6"),
        (Decimal("25000"), (2,), "25,000.00"),
        (None, (), "—"),
        ("", (), "—"),
        ("n/a", (), "n/a"),
        (True, (), True),
    ],
)
def test_number(value, args, shown):
    assert number(value, *args) == shown


def test_every_template_has_the_filter_and_one_date_format():
    when = timezone.make_aware(dt.datetime(2026, 12, 2, 14, 5), timezone.get_current_timezone())
    html = Template("{{ n|number }} | {{ when }} | {{ day }} | {{ when|date }}").render(
        Context({"n": 1234567, "when": when, "day": dt.date(2026, 3, 4)})
    )
    assert html == "1,234,567 | 2026-12-02 14:05 | 2026-03-04 | 2026-12-02"


def test_plain_numbers_in_attributes_stay_ungrouped():
    # Ids in URLs and data- attributes must not become "12,345": grouping only through `number`.
    assert Template('<tr data-id="{{ pk }}">').render(Context({"pk": 12345})) == '<tr data-id="12345">'
