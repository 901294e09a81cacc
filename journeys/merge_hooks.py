"""What the journeys app moves when two contacts merge (crm_core.services.merge finds this module).

The engine must never send one person the same journey twice: where both contacts are enrolled in
one journey, the enrollment further along (the higher transition counter `seq`; on a tie the
survivor's) is kept and the other is deleted with its executions and outbox rows. The other
contact's remaining enrollments and its outbox rows move to the survivor. The enrollments are locked
in id order first, so a batch running them finishes before (or starts after) the merge.
"""

from django.db.models import Exists, OuterRef

from .models import Enrollment, OutboundEmail, StepExecution


def merge_contacts(*, survivor, other, actor=None) -> dict:
    both = [survivor.pk, other.pk]
    list(Enrollment.objects.select_for_update().filter(contact_id__in=both).order_by("pk").values_list("pk"))
    ours = Enrollment.objects.filter(contact_id=survivor.pk)
    theirs = Enrollment.objects.filter(contact_id=other.pk)
    same_journey = {"journey_id": OuterRef("journey_id")}
    ours_behind = ours.filter(Exists(theirs.filter(**same_journey, seq__gt=OuterRef("seq"))))
    theirs_behind = theirs.filter(Exists(ours.filter(**same_journey, seq__gte=OuterRef("seq"))))
    dropped = sorted([*ours_behind.values_list("pk", flat=True), *theirs_behind.values_list("pk", flat=True)])
    executions = StepExecution.objects.filter(enrollment_id__in=dropped).count()
    Enrollment.objects.filter(pk__in=dropped).delete()
    moved = theirs.update(contact_id=survivor.pk)
    emails = OutboundEmail.objects.filter(contact_id=other.pk).update(contact_id=survivor.pk)
    return {
        "journey_enrollments": moved,
        "journey_enrollments_dropped": len(dropped),
        "journey_step_executions_dropped": executions,
        "journey_emails": emails,
    }
