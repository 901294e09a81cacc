"""Forms of the web UI: they validate what a page's query string or POST may say."""

from django import forms
from django.contrib.auth import get_user_model

from .models import JobRole
from .selectors import VIEW_MARKETING, VIEW_SALES

CONTACT_ORDERINGS = {
    "-id": ("Newest first", ("-id",)),
    "id": ("Oldest first", ("id",)),
    "last_name": ("Last name A-Z", ("last_name", "id")),
    "-last_name": ("Last name Z-A", ("-last_name", "-id")),
}


class ContactFilterForm(forms.Form):
    """The contact list's query string. Anything unknown or malformed is reported, never ignored."""

    view = forms.ChoiceField(
        choices=[(VIEW_SALES, "Sales view"), (VIEW_MARKETING, "Marketing view (all contacts)")],
        required=False,
    )
    q = forms.CharField(label="Search", max_length=100, required=False, strip=True)
    job_role = forms.ChoiceField(label="Role", choices=[("", "Any role"), *JobRole.choices], required=False)
    country = forms.CharField(max_length=64, required=False, strip=True)
    account = forms.CharField(label="Account", max_length=200, required=False, strip=True)
    owner = forms.ChoiceField(required=False)
    has_leads = forms.ChoiceField(
        label="Leads", choices=[("", "Any"), ("yes", "Has leads"), ("no", "No leads")], required=False
    )
    sales_ready = forms.BooleanField(label="Sales-ready lead", required=False)
    ordering = forms.ChoiceField(
        label="Sort", choices=[(key, label) for key, (label, _) in CONTACT_ORDERINGS.items()], required=False
    )
    cursor = forms.CharField(max_length=2000, required=False, widget=forms.HiddenInput)

    def __init__(self, *args, owners=None, **kwargs):
        super().__init__(*args, **kwargs)
        owner_choices = [("", "Anyone"), ("me", "Me"), ("none", "No owner")]
        owner_choices += [(str(user.pk), user.get_username()) for user in (owners or [])]
        self.fields["owner"].choices = owner_choices

    def owner_filter(self, viewer) -> dict:
        value = self.cleaned_data.get("owner") or ""
        if value == "none":
            return {"no_owner": True}
        if value == "me":
            return {"owner": viewer}
        if value:
            return {"owner": get_user_model()(pk=int(value))}
        return {}

    def ordering_key(self) -> tuple[str, ...]:
        return CONTACT_ORDERINGS[self.cleaned_data.get("ordering") or "-id"][1]
