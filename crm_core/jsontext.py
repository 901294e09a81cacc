"""Text PostgreSQL cannot store, found anywhere inside a JSON value, with the path to it.

PostgreSQL text and jsonb refuse the NUL character (jsonb even as the escape \\u0000), and UTF-8
cannot encode a lone surrogate; either turned a save into a DataError (a 500). Every JSON definition
(segments, scoring rules, journeys and their email templates, landing fields, interaction
properties) is checked here first, so the client gets a 400 naming where the character is.
"""

from __future__ import annotations

from rest_framework import serializers


def _problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character (\\u0000), which cannot be stored"
    if any("\ud800" <= char <= "\udfff" for char in text):
        return "contains a lone surrogate (\\ud800-\\udfff), which cannot be stored"
    return None


def unstorable_text_problems(value, path: str = "$") -> list[tuple[str, str]]:
    """(path, problem) for every string (keys included) inside `value` that cannot be stored."""
    if isinstance(value, str):
        problem = _problem(value)
        return [(path, problem)] if problem else []
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            key_text = str(key)
            problem = _problem(key_text)
            if problem:
                found.append((path, f"a key {problem}"))
            found.extend(unstorable_text_problems(item, f"{path}.{key_text}"))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found.extend(unstorable_text_problems(item, f"{path}[{index}]"))
    return found


def unstorable_text(value, path: str = "$") -> list[str]:
    """The problems above as 'path: problem' messages."""
    return [f"{where}: {problem}" for where, problem in unstorable_text_problems(value, path)]


class StorableJSONField(serializers.JSONField):
    """A JSON field whose text PostgreSQL can store; anything else is a 400 with the paths."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value is None and not self.allow_null:  # a form field "null" parses to None
            self.fail("null")
        problems = unstorable_text(value)
        if problems:
            raise serializers.ValidationError(problems)
        return value


def storable_json_mapping(mapping: dict) -> dict:
    """A ModelSerializer's `serializer_field_mapping` with model JSON fields checked as above."""
    from django.db import models

    return {**mapping, models.JSONField: StorableJSONField}
