"""Forms of the workspace's pages: they validate what a page's query string or POST may say."""

from datetime import timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from crm_core.models import Industry, JobRole, OpportunityStage, OpportunityStatus
from crm_core.selectors import VIEW_MARKETING, VIEW_SALES

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


# --- Sales pages and the dashboard ---------------------------------------------------------------


class LeadReasonForm(forms.Form):
    """Accept, disqualify or return to marketing: an optional reason."""

    reason = forms.CharField(max_length=2000, required=False, strip=True, widget=forms.Textarea)
    next = forms.CharField(max_length=500, required=False)


class LeadQualifyForm(LeadReasonForm):
    """Qualify: the opportunity's name, amount and close date (all optional)."""

    opportunity_name = forms.CharField(label="Opportunity name", max_length=200, required=False, strip=True)
    amount = forms.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False)
    close_date = forms.DateField(label="Close date", required=False)


class AccountFilterForm(forms.Form):
    q = forms.CharField(label="Name", max_length=100, required=False, strip=True)
    industry = forms.ChoiceField(required=False)
    country = forms.CharField(max_length=64, required=False, strip=True)
    cursor = forms.CharField(max_length=2000, required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["industry"].choices = [("", "Any industry"), *Industry.choices]


class OpportunityFilterForm(forms.Form):
    stage = forms.ChoiceField(required=False)
    status = forms.ChoiceField(required=False)
    mine = forms.BooleanField(label="Mine only", required=False)
    account = forms.IntegerField(min_value=1, required=False, widget=forms.HiddenInput)
    cursor = forms.CharField(max_length=2000, required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].choices = [("", "Any stage"), *OpportunityStage.choices]
        self.fields["status"].choices = [("", "Any status"), *OpportunityStatus.choices]


DASHBOARD_DEFAULT_DAYS = 90
DASHBOARD_MAX_DAYS = 3660


class DashboardPeriodForm(forms.Form):
    """The dashboard's period: created_at in [from, to] (whole days); default the last 90 days."""

    date_from = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        today = timezone.localdate()
        date_to = data.get("date_to") or today
        date_from = data.get("date_from") or date_to - timedelta(days=DASHBOARD_DEFAULT_DAYS)
        if date_from > date_to:
            raise forms.ValidationError("The start of the period is after its end.")
        if (date_to - date_from).days > DASHBOARD_MAX_DAYS:
            raise forms.ValidationError(f"The period may span at most {DASHBOARD_MAX_DAYS} days.")
        data["date_from"], data["date_to"] = date_from, date_to
        return data
