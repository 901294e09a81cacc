"""Writes for segments: create, change, go live and stop with validation; static membership; refresh.

Every change that can change who is in a live segment is announced after commit: a new or changed
definition asks a full evaluation (freshness.request_full), a change of the live segments moves their
index (pending.bump_live_version), and a change of a static membership is handed on to the live
segments that reference it (refresh.membership_changed).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from . import pending
from .compiler import DefinitionError, contacts_queryset, validate_definition
from .freshness import DIRTY_KEY as DIRTY_KEY
from .freshness import request_full
from .freshness import segments_refresh_live as segments_refresh_live
from .models import (
    Segment,
    SegmentKind,
    SegmentMembership,
    SegmentStatus,
)
from .pending import SCHEDULED_KEY as SCHEDULED_KEY
from .reads import definition_entities
from .refresh import CHANGED_LIMIT, membership_changed

# Refreshing is one of this app's writes: callers find it here with the others.
from .refresh import RefreshResult as RefreshResult
from .refresh import segment_refresh as segment_refresh


def _validated(definition, *, segment_id: int | None) -> dict:
    errors = validate_definition(definition, segment_id=segment_id)
    if errors:
        raise DefinitionError(errors)
    return definition


def _is_static(kind) -> bool:
    return kind == SegmentKind.STATIC


@transaction.atomic
def segment_create(*, name: str, definition: dict | None = None, created_by=None, **fields) -> Segment:
    """A new draft segment. A static segment's definition may be empty: its members are a list."""
    definition = definition or {}
    if definition or not _is_static(fields.get("kind")):
        _validated(definition, segment_id=None)
    return Segment.objects.create(
        name=name,
        definition=definition,
        entities=definition_entities(definition),
        created_by=created_by,
        **fields,
    )


@transaction.atomic
def segment_update(*, segment: Segment, data: dict) -> Segment:
    if "kind" in data and data["kind"] != segment.kind:
        raise DefinitionError([{"path": "kind", "message": "a segment's kind cannot change once made"}])
    if "definition" in data and (data["definition"] or not _is_static(segment.kind)):
        _validated(data["definition"], segment_id=segment.pk)
        if data["definition"] != segment.definition:
            segment.version += 1
        segment.entities = definition_entities(data["definition"])
    for name, value in data.items():
        setattr(segment, name, value)
    segment.save()
    live = segment.status == SegmentStatus.LIVE and segment.kind == SegmentKind.DYNAMIC
    _live_segments_changed(full=segment.pk if live else None)
    return segment


def _live_segments_changed(*, full: int | None = None) -> None:
    """After commit: processes reload their index of live segments; `full` is evaluated in full."""

    def announce() -> None:
        if pending.available():
            pending.bump_live_version()
        if full is not None:
            request_full([full])

    transaction.on_commit(announce)


@transaction.atomic
def segment_go_live(*, segment: Segment) -> Segment:
    segment.status = SegmentStatus.LIVE
    segment.save(update_fields=["status", "updated_at"])
    _live_segments_changed(full=segment.pk if segment.kind == SegmentKind.DYNAMIC else None)
    return segment


@transaction.atomic
def segment_stop(*, segment: Segment) -> Segment:
    segment.status = SegmentStatus.STOPPED
    segment.save(update_fields=["status", "updated_at"])
    _live_segments_changed()
    return segment


@transaction.atomic
def static_segment_fill(*, segment: Segment, contact_ids=None, emails=None, definition=None) -> int:
    """Add contacts to a static segment: by ids, by emails (e.g. from a CSV), or once from a query."""
    from crm_core.addresses import normalize_email
    from crm_core.models import Contact

    if segment.kind != SegmentKind.STATIC:
        raise ValueError("only static segments are filled by hand")
    contacts = Contact.objects.none()
    if contact_ids is not None:
        contacts = Contact.objects.filter(pk__in=list(contact_ids))
    elif emails is not None:
        contacts = Contact.objects.filter(email__in=[e for e in map(normalize_email, emails) if e])
    elif definition is not None:
        contacts = contacts_queryset(_validated(definition, segment_id=segment.pk))
    now = timezone.now()
    filled = list(contacts.order_by().values_list("pk", flat=True))
    # Logged and announced as every membership change is (in_segment references follow).
    added = segment_members_add(segment_id=segment.pk, contact_ids=filled, at=now)
    Segment.objects.filter(pk=segment.pk).update(refreshed_at=now)
    segment.refresh_from_db(fields=["member_count", "refreshed_at"])
    return added


def _members_path():
    from crm_core import sqlpath

    from . import members_portable, members_sql

    return members_sql if sqlpath.postgres_sql() else members_portable


def segment_members_add(*, segment_id: int, contact_ids, at=None) -> int:
    """Put contacts into a segment's stored membership (static segments, journey steps); logged.

    Only contacts that were not members join (and are logged as joining): adding twice is a no-op.
    The segment's row lock orders concurrent changes of one membership.
    """
    at = at or timezone.now()
    with transaction.atomic():
        Segment.objects.select_for_update().filter(pk=segment_id).values_list("pk").first()
        joined = _members_path().members_join(segment_id, list(contact_ids), at)
        _members_counted(segment_id)
        _membership_changed_on_commit(segment_id, joined)
    return len(joined)


def segment_members_remove(*, segment_id: int, contact_ids) -> int:
    """Take contacts out of a segment's stored membership; logged."""
    with transaction.atomic():
        Segment.objects.select_for_update().filter(pk=segment_id).values_list("pk").first()
        leaving = _members_path().members_leave(segment_id, list(contact_ids), timezone.now())
        _members_counted(segment_id)
        _membership_changed_on_commit(segment_id, leaving)
    return len(leaving)


def _members_counted(segment_id: int) -> None:
    Segment.objects.filter(pk=segment_id).update(
        member_count=SegmentMembership.objects.filter(segment_id=segment_id).count()
    )


def _membership_changed_on_commit(segment_id: int, contact_ids: list[int]) -> None:
    """Live segments that reference this one look at these contacts again once this commits."""
    ids = list(contact_ids) if len(contact_ids) <= CHANGED_LIMIT else None
    transaction.on_commit(lambda: membership_changed(segment_id=segment_id, contact_ids=ids))


# --- Static segments: members by hand (ids, emails, a CSV) ----------------------------------------

MEMBERS_PER_REQUEST = 10_000


class MembershipRefused(Exception):
    """A refused change of a static membership: `errors` is the 400 body, each problem named."""

    def __init__(self, errors: dict):
        super().__init__(errors)
        self.errors = errors


def _static_member_ids(*, contact_ids, emails) -> tuple[list[int], dict]:
    """The contact ids the request names, and every problem: unknown ids, each bad or unknown email
    by its position in `emails`."""
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    from crm_core.addresses import normalize_email
    from crm_core.selectors import contact_ids_by_email, contact_ids_existing

    errors: dict = {}
    if len(contact_ids) + len(emails) > MEMBERS_PER_REQUEST:
        return [], {"non_field_errors": [f"At most {MEMBERS_PER_REQUEST} contacts per request."]}
    ids = set(contact_ids)
    unknown = sorted(ids - contact_ids_existing(contact_ids=ids))
    if unknown:
        errors["contact_ids"] = [f"No contact has the id {', '.join(map(str, unknown))}."]
    by_email = contact_ids_by_email(emails=emails)
    email_errors = {}
    for index, raw in enumerate(emails):  # validates the request's values; the lookup was one query
        email = normalize_email(raw)
        try:
            validate_email(email)
        except ValidationError:
            email_errors[index] = [f"'{raw}' is not a valid email address."]
            continue
        if email in by_email:
            ids.add(by_email[email])
        else:
            email_errors[index] = [f"No contact has the email '{email}'."]
    if email_errors:
        errors["emails"] = email_errors
    return sorted(ids), errors


def static_segment_members_change(*, segment: Segment, add: bool, contact_ids=(), emails=()) -> int:
    """Add (or remove) contacts named by id or email to (from) a static segment, all or nothing.

    Refused with every problem named (a dynamic segment, unknown ids, bad or unknown emails);
    adding a member twice or removing a non-member changes nothing. Returns how many joined (left).
    The change is logged and announced as every membership change is (segment_members_add).
    """
    if segment.kind != SegmentKind.STATIC:
        raise MembershipRefused(
            {"non_field_errors": ["Only a static segment's members are changed by hand; a dynamic "
                                  "segment's members follow its definition."]}
        )  # fmt: skip
    ids, errors = _static_member_ids(contact_ids=list(contact_ids), emails=list(emails))
    if errors:
        raise MembershipRefused(errors)
    if add:
        return segment_members_add(segment_id=segment.pk, contact_ids=ids)
    return segment_members_remove(segment_id=segment.pk, contact_ids=ids)


@transaction.atomic
def segment_duplicate(*, segment: Segment, created_by=None) -> Segment:
    """A draft copy of a segment (name "Copy of ..."): its definition, and a static one's members."""
    copy = segment_create(
        name=f"Copy of {segment.name}"[:200],
        definition=segment.definition,
        created_by=created_by,
        kind=segment.kind,
        description=segment.description,
    )
    if segment.kind == SegmentKind.STATIC:
        ids = list(SegmentMembership.objects.filter(segment=segment).values_list("contact_id", flat=True))
        segment_members_add(segment_id=copy.pk, contact_ids=ids)
        copy.refresh_from_db()
    return copy
