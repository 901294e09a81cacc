"""An import's contacts through the ORM (the embedded default, SQLite): the same algorithm as
`import_write_sql` with `bulk_create` and `bulk_update` in batches."""

from __future__ import annotations

from django.utils import timezone

from ..consent import PREFERENCE_FIELDS
from ..consent.changes import text_value
from ..models import ConsentChange, ConsentSource, Contact, ContactOrigin

BATCH = 1_000


def _trail(contact: Contact, attname: str, old, new, actor_id, now) -> ConsentChange:
    return ConsentChange(
        contact_id=contact.pk,
        field=attname,
        old_value=text_value(old),
        new_value=text_value(new),
        source=ConsentSource.IMPORT,
        actor_id=actor_id,
        changed_at=now,
    )


def _update_known(known_rows: list[tuple[int, dict]], fields, actor_id, now, trail) -> set[int]:
    by_pk = dict(known_rows)
    updated: set[int] = set()
    keys = sorted(by_pk)
    for start in range(0, len(keys), BATCH):
        changed = []
        for contact in (
            Contact.objects.select_for_update().filter(pk__in=keys[start : start + BATCH]).order_by("pk")
        ):
            values = by_pk[contact.pk]
            if "custom" in values:  # merged key by key into the stored values, as on PostgreSQL
                values = {**values, "custom": {**(contact.custom or {}), **values["custom"]}}
            diff = {a: v for a, v in values.items() if getattr(contact, a) != v}
            if not diff:
                continue
            for attname, value in diff.items():
                if attname in PREFERENCE_FIELDS:
                    trail.append(_trail(contact, attname, getattr(contact, attname), value, actor_id, now))
                setattr(contact, attname, value)
            contact.updated_at, contact.updated_by_id = now, actor_id
            changed.append(contact)
        if changed:
            Contact.objects.bulk_update(changed, [*fields, "updated_at", "updated_by_id"], batch_size=BATCH)
            updated.update(contact.pk for contact in changed)
    return updated


def contacts_write(
    *, rows: list[dict], known: dict[str, int], update_known: bool, fields: list[str], actor_id, progress
) -> tuple[list[int | None], set[int], set[int]]:
    """See `import_write_sql.contacts_write`."""
    now = timezone.now()
    trail: list[ConsentChange] = []
    new: list[tuple[int, Contact]] = []
    known_rows: list[tuple[int, dict]] = []
    ids: list[int | None] = [None] * len(rows)
    for index, values in enumerate(rows):
        pk = known.get(values.get("email"))
        if pk is None:
            contact = Contact(
                **values, origin=ContactOrigin.IMPORT, created_by_id=actor_id, updated_by_id=actor_id
            )
            new.append((index, contact))
        elif update_known:
            ids[index] = pk
            known_rows.append((pk, values))
    updated = _update_known(known_rows, fields, actor_id, now, trail) if update_known else set()
    progress(len(rows) // 2)
    Contact.objects.bulk_create([contact for _, contact in new], batch_size=BATCH)
    defaults = {
        attname: Contact._meta.get_field(attname).get_default()
        for attname in fields
        if attname in PREFERENCE_FIELDS
    }
    for index, contact in new:
        ids[index] = contact.pk
        for attname, default in defaults.items():
            if attname in rows[index] and rows[index][attname] != default:
                trail.append(_trail(contact, attname, default, rows[index][attname], actor_id, now))
    ConsentChange.objects.bulk_create(trail, batch_size=BATCH)
    return ids, {contact.pk for _, contact in new}, updated
