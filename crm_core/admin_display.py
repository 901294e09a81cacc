"""Read-only admin fields in words: a JSON object's entries one `key: value` line each, so no admin
page shows (or asks for) raw JSON."""

from django.utils.html import format_html_join


def _value_words(value) -> str:
    if isinstance(value, list):
        return "; ".join(_value_words(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{key} {_value_words(item)}" for key, item in value.items())
    return "yes" if value is True else "no" if value is False else str(value)


def properties_html(properties) -> str:
    """A JSON object's entries, one `key: value` line each (for read-only admin fields)."""
    if not properties:
        return "—"
    if not isinstance(properties, dict):
        return _value_words(properties)
    rows = ((key, _value_words(value)) for key, value in properties.items())
    return format_html_join("", "<div>{}: {}</div>", rows)
