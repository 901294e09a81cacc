"""Filtersets of the CRM resources (django-filter), and the search backend.

Every filter validates its value: a bad boolean, choice, number, date or id
gets a 400 naming the parameter, never a silently ignored filter.
"""

from __future__ import annotations

import datetime

from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models as dj_models
from django.db.models.lookups import GreaterThanOrEqual, LessThanOrEqual
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField
from rest_framework.exceptions import ValidationError
from rest_framework.filters import SearchFilter

from crm_core import custom_fields, custom_queries, models
from crm_core.models import CustomFieldType


class StrictBooleanField(forms.Field):
    TRUE = {"true", "1", "yes"}
    FALSE = {"false", "0", "no"}

    def to_python(self, value):
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            return value
        lowered = str(value).strip().lower()
        if lowered in self.TRUE:
            return True
        if lowered in self.FALSE:
            return False
        raise forms.ValidationError("Expected true or false.", code="invalid")


class StrictBooleanFilter(filters.BooleanFilter):
    """`true`/`false` (or 1/0); anything else is a 400 rather than an ignored filter."""

    field_class = StrictBooleanField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", forms.TextInput)
        super().__init__(*args, **kwargs)


class UTCIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time, compared in UTC (PostgreSQL refuses offsets beyond +-15:59)."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(datetime.UTC)
        except (OverflowError, ValueError) as exc:
            raise forms.ValidationError("Date-time out of range.", code="overflow") from exc


class UTCIsoDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = UTCIsoDateTimeField


class StrictFilterSet(filters.FilterSet):
    FILTER_DEFAULTS = {
        **filters.FilterSet.FILTER_DEFAULTS,
        dj_models.BooleanField: {"filter_class": StrictBooleanFilter},
        dj_models.DateTimeField: {"filter_class": UTCIsoDateTimeFilter},
    }

    @classmethod
    def filter_for_lookup(cls, field, lookup_type):
        """`__isnull` is strict too: django-filter's own reads `null` or `banana` as "no filter"."""
        if lookup_type == "isnull":
            return StrictBooleanFilter, {}
        return super().filter_for_lookup(field, lookup_type)


DATE_RANGE = ["gte", "lte"]

CUSTOM_RANGE_TYPES = (CustomFieldType.NUMBER, CustomFieldType.DATE)


def _custom_condition(field, lookup: str, raw: str):
    """The Q of one `?custom.<key>[__lookup]=raw` parameter; django ValidationError if raw is bad."""
    if lookup == "isnull":
        flag = StrictBooleanField().clean(raw)
        q = custom_queries.is_null(field)
        return q if flag else ~q
    value = custom_fields.parse_text(field, raw)
    if value is None:
        raise forms.ValidationError("Give a value.")
    if field.field_type == CustomFieldType.MULTI_CHOICE:
        if len(value) != 1:
            raise forms.ValidationError("Give one choice: the records whose values include it.")
        value = custom_fields.value_clean(field, value)[0]
        return custom_queries.has_choice(field, value)
    value = custom_fields.value_clean(field, value)
    if lookup == "exact":
        return custom_queries.equals(field, value)
    expression = (
        custom_queries.number(field)
        if field.field_type == CustomFieldType.NUMBER
        else custom_queries.text(field)
    )
    compare = GreaterThanOrEqual if lookup == "gte" else LessThanOrEqual
    return dj_models.Q(compare(expression, value))


def custom_filter(queryset, entity: str, params) -> dj_models.QuerySet:
    """Apply `?custom.<key>=v` (equality; a multiple choice: includes v), `custom.<key>__gte/__lte`
    (number, date) and `custom.<key>__isnull=true|false`; a 400 names each bad parameter."""
    errors: dict[str, list[str]] = {}
    for param in sorted(p for p in params if p.startswith(custom_fields.PREFIX)):
        name, _, lookup = param.partition("__")
        lookup = lookup or "exact"
        field = custom_fields.definition(entity, name)
        if field is None:
            errors[param] = [f"Unknown custom field “{name}” on {entity}."]
            continue
        allowed = ("exact", "isnull", *(("gte", "lte") if field.field_type in CUSTOM_RANGE_TYPES else ()))
        if lookup not in allowed:
            errors[param] = [
                f"Unknown lookup “{lookup}” for a {field.field_type} field; use one of {allowed}."
            ]
            continue
        try:
            queryset = queryset.filter(_custom_condition(field, lookup, params.get(param)))
        except (forms.ValidationError, DjangoValidationError) as invalid:
            errors[param] = invalid.messages
    if errors:
        raise ValidationError(errors)
    return queryset


class CustomValuesFilterMixin:
    """A FilterSet of an entity with custom fields: `?custom.<key>=...` filters too."""

    custom_entity: str = ""

    def filter_queryset(self, queryset):
        return custom_filter(super().filter_queryset(queryset), self.custom_entity, self.data)


class AccountFilter(CustomValuesFilterMixin, StrictFilterSet):
    custom_entity = "account"

    class Meta:
        model = models.Account
        fields = {
            "name": ["exact", "icontains"],
            "industry": ["exact"],
            "country": ["exact"],
            "owner": ["exact"],
            "parent_account": ["exact", "isnull"],
            "employees": ["gte", "lte"],
            "created_at": DATE_RANGE,
            "updated_at": DATE_RANGE,
        }


class ContactFilter(CustomValuesFilterMixin, StrictFilterSet):
    custom_entity = "contact"

    class Meta:
        model = models.Contact
        fields = {
            "email": ["exact"],
            "first_name": ["exact"],
            "last_name": ["exact"],
            "job_role": ["exact"],
            "country": ["exact"],
            "parent_account": ["exact", "isnull"],
            "owner": ["exact"],
            "marketing_only": ["exact"],
            "origin": ["exact"],
            "do_not_bulk_email": ["exact"],
            "do_not_email": ["exact"],
            "allow_prefill": ["exact"],
            "track_email": ["exact"],
            "consent_level": ["exact", "gte", "lte"],
            "is_minor": ["exact"],
            "created_at": DATE_RANGE,
            "updated_at": DATE_RANGE,
        }


class LeadFilter(CustomValuesFilterMixin, StrictFilterSet):
    custom_entity = "lead"

    class Meta:
        model = models.Lead
        fields = {
            "topic": ["exact"],
            "email": ["exact"],
            "status": ["exact"],
            "source": ["exact"],
            "job_role": ["exact"],
            "parent_contact": ["exact", "isnull"],
            "parent_account": ["exact", "isnull"],
            "owner": ["exact"],
            "sales_ready": ["exact"],
            "score": ["gte", "lte"],
            "grade": ["exact"],
            "identity_status": ["exact"],
            "created_at": DATE_RANGE,
            "updated_at": DATE_RANGE,
        }


class OpportunityFilter(StrictFilterSet):
    class Meta:
        model = models.Opportunity
        fields = {
            "account": ["exact"],
            "contact": ["exact"],
            "originating_lead": ["exact"],
            "owner": ["exact"],
            "stage": ["exact"],
            "status": ["exact"],
            "amount": ["gte", "lte"],
            "close_date": DATE_RANGE,
            "created_at": DATE_RANGE,
        }


class InteractionFilter(StrictFilterSet):
    class Meta:
        model = models.Interaction
        fields = {
            "contact": ["exact"],
            "kind": ["exact"],
            "occurred_at": DATE_RANGE,
        }


class CustomFieldFilter(StrictFilterSet):
    class Meta:
        model = models.CustomField
        fields = {"entity": ["exact"], "field_type": ["exact"]}


class SubscriptionListFilter(StrictFilterSet):
    class Meta:
        model = models.SubscriptionList
        fields = {"name": ["exact"], "is_public": ["exact"]}


class StrictSearchFilter(SearchFilter):
    """DRF's `?search=`, with its validation error keyed by the parameter like every other filter."""

    def get_search_terms(self, request):
        try:
            return super().get_search_terms(request)
        except ValidationError as exc:
            raise ValidationError({self.search_param: exc.detail}) from exc
