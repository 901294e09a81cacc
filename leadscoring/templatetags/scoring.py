"""`{{ rule.condition|condition_text }}`: a scoring rule's condition in words, not its JSON tree."""

from django import template

from leadscoring.conditions import condition_text as _condition_text

register = template.Library()


@register.filter
def condition_text(definition) -> str:
    return _condition_text(definition) if definition else ""
