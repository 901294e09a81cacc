"""Possible duplicates and merging two contacts (marketers and admins: `access.check_contact_merge`,
the check the API's /api/contacts/duplicates/ and /merge/ call).

- the duplicates page lists the pairs the duplicate detection job stored (crm_core.duplicates), with
  their reasons, a keyset page at a time, how many, when last scanned; "Scan now" queues a scan (the
  page then polls `duplicate_scan_status` and reloads when it is done); "Not a duplicate" dismisses a
  pair for good;
- the compare page shows both records side by side with the value the survivor will keep for each
  field (crm_core.services.merge's own rules, `merged_values` and `stricter_consent`), lets the user
  choose the survivor and confirms the merge (POST), then opens the survivor with what moved;
- the contact page asks for its own candidates after loading (`contact_duplicates_partial`), so the
  page's queries stay fixed.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from crm_core import access, duplicates, selectors
from crm_core.models import ConsentLevel, Contact
from crm_core.services import contacts_merge, duplicate_dismiss, duplicates_scan_request, merge_survivor
from crm_core.services.merge import merged_values, stricter_consent

PAGE_SIZE = 25
# Related records a contact has at most one of per list or event: both contacts' become one.
ONE_PER_CONTACT = ("List memberships", "Event registrations")
CONTACT_CANDIDATES = 5

# (label, attribute) of the compare table, profile first, then consent.
PROFILE_ROWS = (
    ("First name", "first_name"),
    ("Last name", "last_name"),
    ("Email", "email"),
    ("Phone", "phone"),
    ("Job title", "job_title"),
    ("Job role", "job_role"),
    ("City", "city"),
    ("Country", "country"),
    ("Account", "parent_account_id"),
    ("Owner", "owner_id"),
    ("Marketing only", "marketing_only"),
    ("Minor", "is_minor"),
    ("Custom fields", "custom"),
)
CONSENT_ROWS = (
    ("Consent level", "consent_level"),
    ("Do not bulk email", "do_not_bulk_email"),
    ("Do not email", "do_not_email"),
    ("Tracking allowed", "track_email"),
    ("Prefill allowed", "allow_prefill"),
    ("Guardian consent", "guardian_consent"),
)


def _cursor(raw: str | None) -> tuple[int, int] | None:
    if not raw:
        return None
    parts = raw.split(".")
    if len(parts) != 2 or not all(p.isascii() and p.isdigit() and len(p) <= 19 for p in parts):
        raise Http404("This page link is not valid any more; start again from the first page.")
    return int(parts[0]), int(parts[1])


@login_required
def duplicate_list_page(request):
    access.check_contact_merge(request.user)
    page = duplicates.duplicate_pairs(after=_cursor(request.GET.get("cursor")), limit=PAGE_SIZE)
    contacts = Contact.objects.select_related("parent_account").in_bulk(
        {pk for pair in page.pairs for pk in (pair.a_id, pair.b_id)}
    )
    rows = [
        {"a": contacts[p.a_id], "b": contacts[p.b_id], "reasons": [duplicates.REASONS[r] for r in p.reasons]}
        for p in page.pairs
        if p.a_id in contacts and p.b_id in contacts
    ]
    next_link = None
    if page.next_after:
        next_link = "?" + urlencode({"cursor": "{}.{}".format(*page.next_after)})
    context = {
        "rows": rows,
        "next_link": next_link,
        "first_page": not request.GET.get("cursor"),
        "count": duplicates.duplicate_count(),
        "scan": duplicates.scan_status(),
        "here": request.get_full_path(),
    }
    return render(request, "workspace/duplicate_list.html", context)


@login_required
def duplicate_scan_status(request):
    """The page's scan line while a scan runs (htmx polls it); when none runs, the page reloads."""
    access.check_contact_merge(request.user)
    scan = duplicates.scan_status()
    if scan.active is None:
        return HttpResponse(status=200, headers={"HX-Refresh": "true"})
    return render(request, "workspace/_duplicate_scan.html", {"scan": scan})


@login_required
@require_POST
def duplicate_scan_now(request):
    access.check_contact_merge(request.user)
    duplicates_scan_request(actor=request.user)
    messages.success(request, "Scanning all contacts for duplicates; this page updates when it is done.")
    return redirect("workspace:duplicate-list")


@login_required
@require_POST
def duplicate_dismiss_pair(request, a, b):
    """Not a duplicate: the pair no longer shows, across scans; back to the page the user was on."""
    access.check_contact_merge(request.user)
    try:
        duplicate_dismiss(a=a, b=b, actor=request.user)
    except ValidationError as refused:
        for errors in refused.message_dict.values():
            messages.error(request, " ".join(errors))
    else:
        messages.success(request, f"Contacts {a} and {b} are marked as not duplicates.")
    back = request.POST.get("next", "")
    if not back.startswith(reverse("workspace:duplicate-list")):
        back = reverse("workspace:duplicate-list")
    return redirect(back)


@login_required
def contact_duplicates_partial(request, pk):
    """The contact page's "Possible duplicates" box (htmx), empty when there are none or the user may
    not merge."""
    if not access.may_merge_contacts(request.user):
        return render(request, "workspace/_contact_duplicates.html", {"rows": []})
    page = duplicates.duplicate_pairs(contact_id=pk, limit=CONTACT_CANDIDATES)
    others = Contact.objects.in_bulk({p.b_id if p.a_id == pk else p.a_id for p in page.pairs})
    rows = [
        {
            "other": others[p.b_id if p.a_id == pk else p.a_id],
            "reasons": [duplicates.REASONS[r] for r in p.reasons],
        }
        for p in page.pairs
        if (p.b_id if p.a_id == pk else p.a_id) in others
    ]
    return render(request, "workspace/_contact_duplicates.html", {"rows": rows, "contact_id": pk})


def _pair_or_404(a_id: int, b_id: int) -> tuple[Contact, Contact]:
    found = Contact.objects.select_related("parent_account", "owner").in_bulk([a_id, b_id])
    for pk in (a_id, b_id):
        if pk not in found:
            survivor = merge_survivor(pk)
            if survivor is not None:
                raise Http404(f"Contact {pk} was already merged into contact {survivor}.")
            raise Http404(f"There is no contact {pk}.")
    return found[a_id], found[b_id]


def _shown(contact: Contact, attribute: str):
    value = getattr(contact, attribute)
    if attribute == "parent_account_id":
        return contact.parent_account.name if contact.parent_account else ""
    if attribute == "owner_id":
        return contact.owner.get_username() if contact.owner else ""
    if attribute == "consent_level":
        return ConsentLevel(value).label
    if attribute == "job_role":
        return contact.get_job_role_display()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if attribute == "custom":
        return ", ".join(f"{k}: {v}" for k, v in sorted(value.items()))
    return value or ""


def _compare_rows(survivor: Contact, other: Contact, rows, changes: dict) -> list[dict]:
    """Each field: both values, the survivor's after the merge, and whose value that is."""
    table = []
    for label, attribute in rows:
        kept, theirs = _shown(survivor, attribute), _shown(other, attribute)
        if attribute in changes:
            after = Contact(**{attribute: changes[attribute]})
            if attribute == "parent_account_id":
                after.parent_account = other.parent_account
            if attribute == "owner_id":
                after.owner = other.owner
            result = _shown(after, attribute)
        else:
            result = kept
        source = "survivor" if result == kept else "other" if result == theirs else "merged"
        table.append({"label": label, "survivor": kept, "other": theirs, "result": result, "source": source})
    return table


@login_required
def contact_merge_page(request, a, b):
    """Compare contacts `a` and `b`; `?survivor=` (one of them, default `a`) keeps its id."""
    access.check_contact_merge(request.user)
    if a == b:
        raise Http404("A contact cannot be merged with itself.")
    first, second = _pair_or_404(a, b)
    survivor_id = request.GET.get("survivor", str(a))
    survivor, other = (second, first) if survivor_id == str(b) else (first, second)
    profile = _compare_rows(survivor, other, PROFILE_ROWS, merged_values(survivor, other))
    consent = _compare_rows(survivor, other, CONSENT_ROWS, stricter_consent(survivor, other))
    counts = selectors.contact_related_counts(contact_ids=[a, b])
    related = [
        {
            "label": label,
            "survivor": counts[survivor.pk][label],
            "other": counts[other.pk][label],
            "may_collapse": label in ONE_PER_CONTACT,
        }
        for label in counts[survivor.pk]
    ]
    context = {
        "related": related,
        "a": first,
        "b": second,
        "survivor": survivor,
        "other": other,
        "profile": profile,
        "consent": consent,
    }
    return render(request, "workspace/contact_merge.html", context)


@login_required
@require_POST
def contact_merge(request, a, b):
    access.check_contact_merge(request.user)
    survivor_id, other_id = request.POST.get("survivor"), request.POST.get("other")
    if {survivor_id, other_id} != {str(a), str(b)}:
        messages.error(request, "Choose which of the two contacts survives.")
        return redirect("workspace:contact-merge", a=a, b=b)
    try:
        details = contacts_merge(survivor_id=survivor_id, other_id=other_id, actor=request.user)
    except ValidationError as refused:
        for errors in refused.message_dict.values():
            messages.error(request, " ".join(errors))
        return redirect("workspace:duplicate-list")
    moved = ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in details["moved"].items() if n)
    messages.success(
        request, f"Contact {other_id} was merged into this contact. Moved: {moved or 'nothing'}."
    )
    return redirect(reverse("workspace:contact-detail", args=[survivor_id]))
