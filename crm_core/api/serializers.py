"""Serializers of the CRM records: field names match the model fields, related records are ids.

They validate everything a request can get wrong (unknown fields, choices,
foreign keys that do not exist, a contact email that is already taken) so the
view answers 400 with `{"field": ["message"]}` and never reaches the database
with bad data.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from crm_core import custom_fields, models
from crm_core.addresses import normalize_email
from crm_core.jsontext import StorableJSONField


class NormalizedEmailField(serializers.EmailField):
    """An email as the database stores it: trimmed, lower-case, empty -> null."""

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def run_validation(self, data=serializers.empty):
        if isinstance(data, str) and not data.strip():
            data = None  # an empty address is no address
        return super().run_validation(data)

    def to_internal_value(self, data):
        return normalize_email(super().to_internal_value(data))


def _with_errors(errors: dict, validate):
    """`validate()`'s values, or one 400 with its field errors and `errors` together."""
    try:
        values = validate()
    except serializers.ValidationError as invalid:
        if isinstance(invalid.detail, dict):
            raise serializers.ValidationError({**invalid.detail, **errors}) from invalid
        raise serializers.ValidationError(errors or invalid.detail) from invalid
    if errors:
        raise serializers.ValidationError(errors)
    return values


UNKNOWN_FIELD = "Unknown field."


def unknown_field_errors(data, known) -> dict[str, list[str]]:
    """`{name: ["Unknown field."]}` for each key of the body `data` that is not in `known`."""
    if not isinstance(data, Mapping):
        return {}
    return {str(name): [UNKNOWN_FIELD] for name in sorted(data, key=str) if name not in known}


class StrictFieldsMixin:
    """Refuse fields the serializer does not know instead of ignoring them silently: the 400 names
    each one (`{"shoe_size": ["Unknown field."]}`) together with the errors of the fields it knows.

    Every app's request serializers refuse unknown fields this way (through `StrictSerializer` and
    `StrictModelSerializer`). Read-only fields are known: an integrator may send back what it GOT.
    """

    def to_internal_value(self, data):
        unknown = unknown_field_errors(data, self.fields)
        return _with_errors(unknown, lambda: super(StrictFieldsMixin, self).to_internal_value(data))


class StrictSerializer(StrictFieldsMixin, serializers.Serializer):
    """A Serializer that refuses fields it does not know (StrictFieldsMixin)."""


class StrictModelSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """A ModelSerializer that refuses fields it does not know (StrictFieldsMixin)."""


class CustomValuesField(serializers.JSONField):
    """Custom field values by key (`{"tier": "gold", "renewal": "2026-01-31"}`), checked against
    the entity's definitions: an unknown key or a wrong value is a 400 naming the key. An update
    merges into the stored values (a key set to null is removed); the services do the merge."""

    def __init__(self, *, entity: str, **kwargs):
        self.entity = entity
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text", f"Custom field values of the {entity} by key (GET /api/custom-fields/)."
        )
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        data = super().to_internal_value(data)
        parent = self.parent
        instance = getattr(parent, "instance", None)
        try:
            custom_fields.values_clean(
                self.entity, data, current=getattr(instance, "custom", None), creating=instance is None
            )
        except custom_fields.CustomValuesInvalid as invalid:
            raise serializers.ValidationError(invalid.errors) from invalid
        except DjangoValidationError as invalid:  # not a JSON object
            raise serializers.ValidationError(invalid.messages) from invalid
        return data


class CustomValuesMixin:
    """A create always gives `custom` (so required custom fields are checked)."""

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if self.instance is None and "custom" not in attrs:
            attrs["custom"] = {}
        return attrs


def _user_queryset():
    return get_user_model().objects.all()


class AccountSerializer(CustomValuesMixin, StrictModelSerializer):
    custom = CustomValuesField(entity="account")
    owner = serializers.PrimaryKeyRelatedField(queryset=_user_queryset(), allow_null=True, required=False)

    class Meta:
        model = models.Account
        fields = [
            "id",
            "name",
            "industry",
            "country",
            "website",
            "employees",
            "annual_revenue",
            "owner",
            "parent_account",
            "custom",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate_parent_account(self, value):
        if value is not None and self.instance is not None and value.pk == self.instance.pk:
            raise serializers.ValidationError("An account cannot be its own parent.")
        return value


class ContactSerializer(CustomValuesMixin, StrictModelSerializer):
    custom = CustomValuesField(entity="contact")
    email = NormalizedEmailField(max_length=254)
    owner = serializers.PrimaryKeyRelatedField(queryset=_user_queryset(), allow_null=True, required=False)

    class Meta:
        model = models.Contact
        fields = [
            "id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "job_title",
            "job_role",
            "country",
            "city",
            "parent_account",
            "owner",
            "marketing_only",
            "origin",
            "do_not_bulk_email",
            "do_not_email",
            "allow_prefill",
            "track_email",
            "consent_level",
            "is_minor",
            "guardian",
            "guardian_consent",
            "custom",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate_email(self, value):
        if value is None:
            return value
        taken = models.Contact.objects.filter(email=value)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError("A contact with this email already exists.")
        return value

    def validate_guardian(self, value):
        if value is not None and self.instance is not None and value.pk == self.instance.pk:
            raise serializers.ValidationError("A contact cannot be their own guardian.")
        return value


class LeadSerializer(CustomValuesMixin, StrictModelSerializer):
    """A lead's details. Its status, score, grade, sales_ready and owner are read-only here: they
    change through the lifecycle actions, lead scoring and `POST /api/leads/{id}/assign/`."""

    email = NormalizedEmailField(max_length=254)
    custom = CustomValuesField(entity="lead")
    # Where each state field changes instead (a 400 names it when a request tries to set one).
    STATE_FIELD_OWNERS = {
        "status": "the lifecycle actions (POST /api/leads/{id}/accept/, /qualify/, /disqualify/, "
        "/return-to-marketing/)",
        "owner": "POST /api/leads/{id}/assign/",
        "score": "lead scoring",
        "grade": "lead scoring",
        "sales_ready": "lead scoring",
        "identity_status": "the identity review (POST /api/leads/{id}/identity-link/ or /identity-dismiss/)",
        "identity_conflict_contact": "the identity review",
    }
    parent_contact = serializers.PrimaryKeyRelatedField(
        queryset=models.Contact.objects.all(),
        allow_null=True,
        required=False,
        help_text="The parent contact's id (lead_parent_contact); null for an orphan lead.",
    )

    class Meta:
        model = models.Lead
        fields = [
            "id",
            "topic",
            "first_name",
            "last_name",
            "email",
            "company_name",
            "job_title",
            "job_role",
            "status",
            "source",
            "parent_contact",
            "parent_account",
            "owner",
            "score",
            "grade",
            "sales_ready",
            "estimated_value",
            "identity_status",
            "identity_conflict_contact",
            "custom",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "status",
            "owner",
            "score",
            "grade",
            "sales_ready",
            "identity_status",
            "identity_conflict_contact",
            "created_at",
            "updated_at",
        ]

    def _state_field_errors(self, data) -> dict:
        """Read-only state fields sent with a value other than the stored one: one error each."""
        errors = {}
        if not isinstance(data, dict):
            return errors
        for name, where in self.STATE_FIELD_OWNERS.items():
            if name not in data:
                continue
            stored = getattr(self.instance, name, None) if self.instance is not None else None
            current = None if stored is None else self.fields[name].to_representation(stored)
            if self.instance is None or data[name] != current:
                errors[name] = [f"Read-only: {name} changes only through {where}."]
        return errors

    def to_internal_value(self, data):
        return _with_errors(
            self._state_field_errors(data), lambda: super(LeadSerializer, self).to_internal_value(data)
        )


class OpportunitySerializer(StrictModelSerializer):
    owner = serializers.PrimaryKeyRelatedField(queryset=_user_queryset(), allow_null=True, required=False)

    class Meta:
        model = models.Opportunity
        fields = [
            "id",
            "name",
            "account",
            "contact",
            "originating_lead",
            "owner",
            "stage",
            "status",
            "amount",
            "close_date",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]


class InteractionSerializer(StrictModelSerializer):
    properties = StorableJSONField(
        required=False, help_text='A JSON object, e.g. {"url": ...}, {"email": ...}, {"form": ...}.'
    )

    class Meta:
        model = models.Interaction
        fields = ["id", "contact", "kind", "occurred_at", "properties", "created_at"]
        read_only_fields = ["id", "created_at"]
        # An interaction is a fact that happened: recorded, never rewritten.

    def validate_properties(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Expected a JSON object.")
        return value


class SubscriptionListSerializer(StrictModelSerializer):
    class Meta:
        model = models.SubscriptionList
        fields = ["id", "name", "description", "is_public", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class CustomFieldSerializer(StrictModelSerializer):
    """A custom field definition. `key`, `entity` and `field_type` are fixed once created; records
    carry the values under `custom` and segments, filters, landing mappings and merge fields name
    the field `custom.<key>`."""

    choices = serializers.JSONField(
        required=False, help_text='For choice types: ["gold", ...] or [{"value": "gold", "label": "Gold"}].'
    )
    name = serializers.CharField(read_only=True, help_text="custom.<key>")

    class Meta:
        model = models.CustomField
        fields = ["id", "entity", "key", "name", "label", "field_type", "required", "choices", "ordering"]
        read_only_fields = ["id", "name"]
        validators = []  # the (entity, key) check below names `key`

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if self.instance is not None:
            fixed = {
                name: ["Cannot change once the field exists."]
                for name in ("entity", "key", "field_type")
                if name in attrs and attrs[name] != getattr(self.instance, name)
            }
            if fixed:
                raise serializers.ValidationError(fixed)
        elif models.CustomField.objects.filter(entity=attrs.get("entity"), key=attrs.get("key")).exists():
            raise serializers.ValidationError(
                {"key": ["This entity already has a custom field with this key."]}
            )
        return attrs


class AuthTokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


class AuthTokenSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True)
    expires_at = serializers.DateTimeField(read_only=True, help_text="After this the token is refused (401).")


class LeadAssignSerializer(StrictSerializer):
    owner = serializers.PrimaryKeyRelatedField(
        queryset=_user_queryset(), allow_null=True, help_text="The new owner's user id; null to unassign."
    )
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)
