"""The lead list's filters (django-filter): what reps and marketers narrow leads by.

Each filter reads an indexed column or a partial index (status, owner, topic by UPPER(topic),
sales_ready through the queue and sales-ready indexes, orphan: lead_orphan_idx, identity conflict:
lead_identity_conflict_idx); score is a range filter only: it has no index on purpose (the score
copy stays a HOT update), so the list never orders by it; nor by topic (a few distinct topics over a
million leads: the topic index gives no (topic, id) order, 650 ms a page). It pages by id, which
keeps created order. Unknown parameters are reported.
"""

import django_filters
from django import forms
from django.db.models import Q

from crm_core.models import IdentityStatus, Lead, LeadSource, LeadStatus
from crm_core.selectors import VIEW_MARKETING, VIEW_SALES

LEAD_ORDERINGS = {
    "-id": ("Newest first", ("-id",)),
    "id": ("Oldest first", ("id",)),
}
YES_NO = [("", "Any"), ("yes", "Yes"), ("no", "No")]
# Parameters the list reads besides the filters.
LEAD_LIST_PARAMETERS = frozenset({"view", "ordering", "cursor"})


def _yes_no(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")


class LeadListFilter(django_filters.FilterSet):
    view = django_filters.ChoiceFilter(
        choices=[(VIEW_SALES, "Sales view"), (VIEW_MARKETING, "Marketing view (all leads)")],
        method="filter_view",
        empty_label=None,
    )
    q = django_filters.CharFilter(label="Topic", method="filter_topic", max_length=200)
    status = django_filters.ChoiceFilter(choices=LeadStatus.choices, empty_label="Any status")
    source = django_filters.ChoiceFilter(choices=LeadSource.choices, empty_label="Any source")
    owner = django_filters.ChoiceFilter(method="filter_owner", empty_label="Anyone")
    score_min = django_filters.NumberFilter(field_name="score", lookup_expr="gte", label="Score from")
    score_max = django_filters.NumberFilter(field_name="score", lookup_expr="lte", label="Score to")
    sales_ready = django_filters.ChoiceFilter(
        choices=YES_NO[1:], method="filter_sales_ready", empty_label="Any"
    )
    orphan = django_filters.ChoiceFilter(
        choices=YES_NO[1:], method="filter_orphan", label="Orphan (no contact)", empty_label="Any"
    )
    identity_conflict = django_filters.ChoiceFilter(
        choices=[("yes", "In identity review")], method="filter_conflict", label="Identity", empty_label="Any"
    )
    ordering = django_filters.ChoiceFilter(
        choices=[(key, label) for key, (label, _) in LEAD_ORDERINGS.items()],
        method="filter_nothing",
        label="Sort",
        empty_label=None,
    )
    cursor = django_filters.CharFilter(method="filter_nothing", max_length=2000, widget=forms.HiddenInput)

    class Meta:
        model = Lead
        fields: list[str] = []

    def __init__(self, *args, viewer, owners=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.viewer = viewer
        choices = [("me", "Me"), ("none", "No owner")]
        choices += [(str(user.pk), user.get_username()) for user in owners]
        self.filters["owner"].extra["choices"] = choices

    def unknown_parameters(self) -> list[str]:
        known = set(self.filters) | LEAD_LIST_PARAMETERS
        return sorted(name for name in (self.data or {}) if name not in known)

    def is_valid(self) -> bool:
        valid = super().is_valid()
        for name in self.unknown_parameters():
            self.form.add_error(None, f"Unknown filter {name!r}.")
            valid = False
        return valid

    def ordering_key(self) -> tuple[str, ...]:
        return LEAD_ORDERINGS[self.form.cleaned_data.get("ordering") or "-id"][1]

    def filter_nothing(self, queryset, name, value):
        return queryset  # read by the view (ordering, cursor)

    def filter_view(self, queryset, name, value):
        """The sales view leaves out marketing's clutter: leads of marketing-only contacts that no
        rep owns and that are not sales-ready. A rep's own lead (its contact made by the orphan
        workflow is marketing-only) stays."""
        if value != VIEW_SALES:
            return queryset
        return queryset.filter(
            Q(parent_contact__isnull=True)
            | Q(parent_contact__marketing_only=False)
            | Q(owner__isnull=False)
            | Q(sales_ready=True)
        )

    def filter_topic(self, queryset, name, value):
        return queryset.filter(topic__iexact=value) if value else queryset  # UPPER(topic): indexed

    def filter_owner(self, queryset, name, value):
        if value == "me":
            return queryset.filter(owner=self.viewer)
        if value == "none":
            return queryset.filter(owner__isnull=True)
        return queryset.filter(owner_id=int(value)) if value else queryset

    def filter_sales_ready(self, queryset, name, value):
        wanted = _yes_no(value)
        return queryset if wanted is None else queryset.filter(sales_ready=wanted)

    def filter_orphan(self, queryset, name, value):
        wanted = _yes_no(value)
        return queryset if wanted is None else queryset.filter(parent_contact__isnull=wanted)

    def filter_conflict(self, queryset, name, value):
        return queryset.filter(identity_status=IdentityStatus.CONFLICT) if value else queryset
