"""The duplicate detection job through the ORM (SQLite, and `portable_path` in tests): the same rules
as crm_core/duplicate_scan_sql.py. Each key rule is two queries: the keys shared by 2 to `max_group`
contacts (GROUP BY), then those contacts' (key, id) rows in key order; the pairs inside each group
are formed from these rows (only contacts that have a duplicate are read). The lead rule is one
query (each lead with an email and a contact, and the contact owning that email). The table is then
replaced in one transaction: gone pairs deleted, new ones inserted, changed reasons updated."""

from __future__ import annotations

from itertools import combinations, groupby

from django.db import transaction
from django.db.models import CharField, Count, Exists, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Cast, Concat, Length, Lower, Replace, StrIndex, Substr

from .models import Contact, DuplicateCandidate, Lead

CHUNK = 500


def _local():
    return Substr("email", 1, StrIndex("email", Value("@")) - 1)


def _squeezed():
    return Replace(
        Replace(Replace("email", Value("."), Value("")), Value("-"), Value("")), Value("_"), Value("")
    )


def _name_key():
    return Concat(
        Cast("parent_account_id", CharField()),
        Value("\x1f"),
        Lower("first_name"),
        Value("\x1f"),
        Lower("last_name"),
        output_field=CharField(),
    )


def _group_pairs(contacts, key, reason: str, max_group: int) -> list[tuple[int, int, str]]:
    keyed = contacts.annotate(k=key)
    shared = keyed.values("k").annotate(n=Count("pk")).filter(n__gte=2, n__lte=max_group).values("k")
    rows = keyed.filter(k__in=shared).order_by("k", "pk").values_list("k", "pk")
    return [
        (a, b, reason)
        for _, group in groupby(rows, key=lambda row: row[0])
        for (_, a), (_, b) in combinations(group, 2)
    ]


def _lead_pairs() -> list[tuple[int, int, str]]:
    owner = Contact.objects.annotate(e=Lower("email")).filter(e=Lower(OuterRef("email"))).values("pk")[:1]
    leads = (
        Lead.objects.filter(parent_contact__isnull=False, email__isnull=False)
        .annotate(c=Subquery(owner, output_field=IntegerField()))
        .filter(c__isnull=False)
        .values_list("parent_contact_id", "c")
    )
    return [(min(x, y), max(x, y), "lead_email") for x, y in leads if x != y]


def find(*, max_group: int, min_local: int) -> dict[tuple[int, int], str]:
    """Every pair (a < b) with its reasons, comma-separated in name order."""
    named = Contact.objects.filter(parent_account__isnull=False).exclude(first_name="", last_name="")
    emailed = (
        Contact.objects.filter(email__contains="@")
        .annotate(local_length=Length(_local()))
        .filter(local_length__gte=min_local)
    )
    rows = [
        *_group_pairs(named, _name_key(), "same_name_account", max_group),
        *_group_pairs(emailed, _local(), "email_other_domain", max_group),
        *_group_pairs(emailed, _squeezed(), "email_similar", max_group),
        *_lead_pairs(),
    ]
    reasons: dict[tuple[int, int], set[str]] = {}
    for a, b, reason in rows:
        reasons.setdefault((a, b), set()).add(reason)
    return {pair: ",".join(sorted(names)) for pair, names in reasons.items()}


def replace_candidates(now, *, max_group: int, min_local: int) -> dict:
    """Find every pair and replace the table's rows (one transaction): found, added, removed."""
    with transaction.atomic():
        found = find(max_group=max_group, min_local=min_local)
        both_exist = Exists(Contact.objects.filter(pk=OuterRef("contact_a_id"))) & Exists(
            Contact.objects.filter(pk=OuterRef("contact_b_id"))
        )
        stored = DuplicateCandidate.objects.annotate(alive=both_exist).values_list(
            "pk", "contact_a_id", "contact_b_id", "reasons", "dismissed", "alive"
        )
        gone, changed, kept = [], [], set()
        for pk, a, b, reasons, dismissed, alive in stored:
            if (a, b) in found:
                kept.add((a, b))
                if found[(a, b)] != reasons:
                    changed.append(DuplicateCandidate(pk=pk, reasons=found[(a, b)]))
            elif not dismissed or not alive:
                gone.append(pk)
        for start in range(0, len(gone), CHUNK):
            DuplicateCandidate.objects.filter(pk__in=gone[start : start + CHUNK]).delete()
        DuplicateCandidate.objects.bulk_update(changed, ["reasons"], batch_size=CHUNK)
        new = [
            DuplicateCandidate(contact_a_id=a, contact_b_id=b, reasons=reasons, found_at=now)
            for (a, b), reasons in found.items()
            if (a, b) not in kept
        ]
        DuplicateCandidate.objects.bulk_create(new, batch_size=CHUNK)
    return {"pairs": len(found), "added": len(new), "removed": len(gone)}
