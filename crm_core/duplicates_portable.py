"""One contact's likely duplicates, probed live through the ORM (SQLite, and `portable_path` in tests):
the same rules as crm_core/duplicates_sql.py, one query per rule. The name and lead-email rules join through
relations; the email rules have no relation to join on, so the contact is paired with the nearest
contact on each side (by id) sharing its key, a correlated subquery."""

from __future__ import annotations

from django.db.models import F, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Greatest, Least, Length, Lower, Replace, StrIndex, Substr

from .duplicates_rules import DuplicatePair
from .models import Contact, Lead

MIN_LOCAL = 3


def _local():
    return Substr("email", 1, StrIndex("email", Value("@")) - 1)


def _squeezed():
    """The email without dots, hyphens and underscores."""
    return Replace(
        Replace(Replace("email", Value("."), Value("")), Value("-"), Value("")), Value("_"), Value("")
    )


def _name_account(anchors: Q, other: str) -> list[tuple[int, int, str]]:
    rows = (
        Contact.objects.filter(anchors, parent_account__isnull=False)
        .exclude(first_name="", last_name="")
        .annotate(
            b=F("parent_account__contacts__id"),
            bfn=Lower("parent_account__contacts__first_name"),
            bln=Lower("parent_account__contacts__last_name"),
        )
        .filter(bfn=Lower("first_name"), bln=Lower("last_name"), **{f"b__{other}": F("id")})
        .values_list("id", "b")
    )
    return [(a, b, "same_name_account") for a, b in rows]


def _lead_email(anchors: Q, window: Q) -> list[tuple[int, int, str]]:
    """Leads whose email is another contact's: the pair (lead's contact, that contact), for leads of
    the scanned contacts or carrying one of their emails."""
    owner = Contact.objects.filter(email=OuterRef("email")).values("pk")[:1]
    scanned = Contact.objects.filter(anchors)
    leads = (
        Lead.objects.filter(parent_contact__isnull=False, email__isnull=False)
        .filter(
            Q(parent_contact__in=scanned) | Q(email__in=scanned.filter(email__isnull=False).values("email"))
        )
        .annotate(c=Subquery(owner, output_field=IntegerField()))
        .filter(c__isnull=False)
        .exclude(c=F("parent_contact_id"))
        .annotate(a=Least("parent_contact_id", "c"), b=Greatest("parent_contact_id", "c"))
        .filter(window)
    )
    return [(a, b, "lead_email") for a, b in leads.values_list("a", "b")]


def _email_rule(anchors: Q, key, reason: str, other: str) -> list[tuple[int, int, str]]:
    """Each anchor contact with the nearest other contact (by id, on the `other` side) sharing `key`."""
    first = (
        Contact.objects.annotate(k=key)
        .filter(k=OuterRef("k"), **{f"pk__{other}": OuterRef("pk")})
        .exclude(email=OuterRef("email"))
        .order_by("pk" if other == "gt" else "-pk")
        .values("pk")[:1]
    )
    rows = (
        Contact.objects.filter(anchors, email__contains="@")
        .annotate(local_length=Length(_local()))
        .filter(local_length__gte=MIN_LOCAL)
        .annotate(k=key, b=Subquery(first, output_field=IntegerField()))
        .filter(b__isnull=False)
        .values_list("pk", "b")
    )
    return [(a, b, reason) for a, b in rows]


def _all(anchors: Q, other: str, window: Q) -> list[tuple[int, int, str]]:
    return [
        *_name_account(anchors, other),
        *_lead_email(anchors, window),
        *_email_rule(anchors, _local(), "email_other_domain", other),
        *_email_rule(anchors, _squeezed(), "email_similar", other),
    ]


def _pairs(rows, keep) -> list[DuplicatePair]:
    reasons: dict[tuple[int, int], set[str]] = {}
    for a, b, reason in rows:
        pair = (min(a, b), max(a, b))
        if keep(pair):
            reasons.setdefault(pair, set()).add(reason)
    return [DuplicatePair(a, b, tuple(sorted(reasons[(a, b)]))) for a, b in sorted(reasons)]


def pairs_of_contact(contact_id: int, limit: int) -> list[DuplicatePair]:
    rows = [
        *_all(Q(pk=contact_id), "gt", Q(a=contact_id) | Q(b=contact_id)),
        *_all(Q(pk=contact_id), "lt", Q(pk__in=[])),
    ]
    return _pairs(rows, lambda pair: contact_id in pair)[:limit]
