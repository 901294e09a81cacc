"""Forms that create and edit contacts, accounts, leads and opportunities in the workspace.

They hold the fields the owning services (`crm_core.services.records`) let a caller set and check
what the API's serializers check (`crm_core/api/serializers.py`): choices, related records that
exist, a contact email nobody else has, no record its own parent or guardian. The views save
through the services, never through `form.save()`.
"""

from django import forms
from django.contrib.auth import get_user_model

from crm_core import custom_fields
from crm_core.addresses import normalize_email
from crm_core.models import Account, Contact, Lead, Opportunity
from crm_core.roles import ADMIN, MARKETING, SALES
from crm_core.services.records import (
    ACCOUNT_FIELDS,
    CONTACT_PROFILE_FIELDS,
    LEAD_CREATE_FIELD_ORDER,
    LEAD_EDITABLE_FIELDS,
    OPPORTUNITY_FIELDS,
)


def _users():
    """People who can own records: active users of the three roles (a short list)."""
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=[SALES, MARKETING, ADMIN])
        .distinct()
        .order_by("username")
    )


class RecordIdField(forms.ModelChoiceField):
    """A related record by its id: tables of a million rows are not offered as a drop-down."""

    widget = forms.NumberInput

    def __init__(self, queryset, *, noun: str, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", f"The {noun}'s id (shown in its page's address).")
        super().__init__(queryset, **kwargs)
        self.error_messages["invalid_choice"] = f"No {noun} has this id."
        self.widget.attrs.setdefault("min", 1)


class OwnerField(forms.ModelChoiceField):
    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("empty_label", "No owner")
        super().__init__(_users(), **kwargs)

    def label_from_instance(self, obj):
        return obj.get_username()


class RecordForm(forms.ModelForm):
    """The base: only the fields the service accepts; `values()` is what to hand the service.

    The record's `custom` JSON column is never a form field: each custom field of the entity
    (`custom_entity`) is a field of its own, named `custom.<key>` (`crm_core.custom_fields`), and
    `values()` hands the service the changed ones as `custom` (an emptied one clears its key)."""

    custom_entity: str | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.pop("custom", None)
        if self.custom_entity is None:
            return
        stored = (self.instance.custom or {}) if self.instance.pk else {}
        for name, field in custom_fields.form_fields(self.custom_entity).items():
            field.initial = stored.get(name.removeprefix(custom_fields.PREFIX))
            self.fields[name] = field

    def values(self, *, changed_only: bool) -> dict:
        names = self.changed_data if changed_only else list(self.fields)
        custom = {name for name in names if name.startswith(custom_fields.PREFIX)}
        values = {
            name: self.cleaned_data[name]
            for name in names
            if name in self.cleaned_data and name not in custom
        }
        given = custom_fields.form_values({name: self.cleaned_data.get(name) for name in custom})
        if given:
            values["custom"] = given
        return values


def _ordered(names, allowed) -> list[str]:
    assert set(names) <= set(allowed), set(names) - set(allowed)
    return list(names)


class ContactForm(RecordForm):
    custom_entity = "contact"
    parent_account = RecordIdField(Account.objects.all(), noun="account", label="Account")
    owner = OwnerField()

    class Meta:
        model = Contact
        fields = _ordered(
            (
                "first_name",
                "last_name",
                "email",
                "phone",
                "job_title",
                "job_role",
                "city",
                "country",
                "parent_account",
                "owner",
            ),
            CONTACT_PROFILE_FIELDS,
        )

    def clean_email(self):
        email = normalize_email(self.cleaned_data.get("email"))
        if email is None:
            return None
        taken = Contact.objects.filter(email=email)
        if self.instance.pk is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError("A contact with this email already exists.")
        return email


class AccountForm(RecordForm):
    custom_entity = "account"
    parent_account = RecordIdField(Account.objects.all(), noun="account", label="Parent account")
    owner = OwnerField()

    class Meta:
        model = Account
        fields = _ordered(
            (
                "name",
                "industry",
                "country",
                "website",
                "employees",
                "annual_revenue",
                "parent_account",
                "owner",
            ),
            ACCOUNT_FIELDS,
        )

    def clean_parent_account(self):
        parent = self.cleaned_data.get("parent_account")
        if parent is not None and self.instance.pk is not None and parent.pk == self.instance.pk:
            raise forms.ValidationError("An account cannot be its own parent.")
        return parent


LEAD_FORM_FIELDS = tuple(name for name in LEAD_CREATE_FIELD_ORDER if name != "owner")


class LeadForm(RecordForm):
    """A lead's details. Its status, score, grade, sales_ready and identity change elsewhere (the
    lifecycle actions, scoring, the identity review); its owner only when it is created."""

    custom_entity = "lead"

    email = forms.EmailField(required=False, max_length=254)
    parent_contact = RecordIdField(
        Contact.objects.all(),
        noun="contact",
        label="Parent contact",
        help_text="The contact's id; leave empty for a new person: the orphan-lead workflow gives "
        "the lead a contact (the one with its email, or a new one).",
    )
    parent_account = RecordIdField(Account.objects.all(), noun="account", label="Parent account")

    class Meta:
        model = Lead
        fields = _ordered(LEAD_FORM_FIELDS, LEAD_EDITABLE_FIELDS)

    def clean_email(self):
        return normalize_email(self.cleaned_data.get("email"))


class LeadCreateForm(LeadForm):
    owner = OwnerField()

    class Meta(LeadForm.Meta):
        fields = [*LeadForm.Meta.fields, "owner"]


class OpportunityForm(RecordForm):
    account = RecordIdField(Account.objects.all(), noun="account", label="Account")
    contact = RecordIdField(Contact.objects.all(), noun="contact", label="Contact")
    originating_lead = RecordIdField(Lead.objects.all(), noun="lead", label="Originating lead")
    owner = OwnerField()
    close_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    class Meta:
        model = Opportunity
        fields = _ordered(
            (
                "name",
                "stage",
                "status",
                "amount",
                "close_date",
                "account",
                "contact",
                "originating_lead",
                "owner",
            ),
            OPPORTUNITY_FIELDS,
        )
