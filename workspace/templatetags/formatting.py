"""`{{ value|number }}`: a count or amount written the app's one way (config/formats/en/formats.py):
thousands separated (12,345), whole numbers without decimals, others with two (or `|number:1`),
an empty value as "—". A template builtin (settings TEMPLATES), so every page has it unloaded."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template
from django.utils import formats

register = template.Library()

EMPTY = "—"


@register.filter
def number(value, decimals=None):
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return value
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return value  # not a number: shown as it is
    if not amount.is_finite():
        return value
    if decimals is None:
        decimals = 0 if amount == amount.to_integral_value() else 2
    amount = amount.quantize(Decimal(1).scaleb(-int(decimals)), rounding=ROUND_HALF_UP)
    return formats.number_format(amount, decimal_pos=int(decimals), use_l10n=True, force_grouping=True)
