"""What production would have run on the demo's rows, run once, set-based and in order.

The seeded leads start new, nurture or disqualified, as if nothing had looked at them yet:
`demo_run_workflows` links the orphan leads (crm_core's workflow), recomputes the live scoring models
(leadscoring's services; the hand-off makes sales-ready leads marketing qualified), writes what sales
did with the leads (`_demo_sales_history`) and refreshes the live segments (segments' services).
"""

from dataclasses import dataclass

from django.db import connection, models, transaction
from django.utils import timezone

from crm_core import sqlpath
from crm_core.models import Contact, Lead, LeadStatus, LeadStatusChange
from crm_core.services import lead_link_orphans
from leadscoring.services import scoring_models_recompute_live
from segments.services import segments_refresh_live

# Of the leads scoring hands to sales, the share sales has accepted so far (by lead id, reproducible).
SALES_ACCEPTED_PER_TEN = 4


@dataclass
class DemoWorkflows:
    orphans_linked: int = 0
    marketing_only_contacts: int = 0
    leads_handed_off: int = 0
    sales_accepted: int = 0
    qualified: int = 0
    segments_refreshed: int = 0


def demo_run_workflows() -> DemoWorkflows:
    """Run, set-based and in order, what the worker would have run had the demo's rows come in one
    by one: the orphan-lead workflow, the live scoring models (with the sales-ready hand-off), what
    sales did with the leads (`_demo_sales_history`) and a refresh of the live segments."""
    done = DemoWorkflows()
    linked = lead_link_orphans()
    done.orphans_linked, done.marketing_only_contacts = linked.leads_linked, linked.contacts_created
    _analyze(Contact, Lead)
    results = scoring_models_recompute_live()
    done.leads_handed_off = sum(result.handed_off for result in results.values())
    _analyze(Lead)
    done.sales_accepted, done.qualified = _demo_sales_history()
    _analyze(Contact, Lead)
    done.segments_refreshed = len(segments_refresh_live())
    return done


def _analyze(*tables: type[models.Model]) -> None:
    """On PostgreSQL, fresh statistics after a step that changed many rows: the next step's plans
    depend on them (with the statistics of before the sales history, "marketing-only contacts with
    a qualified lead" was estimated at one row and joined by nested loop: minutes at 1M contacts)."""
    if not sqlpath.postgres_sql():
        return
    with connection.cursor() as cursor:
        for model in tables:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


@transaction.atomic
def _demo_sales_history() -> tuple[int, int]:
    """The lead behind each seeded opportunity is qualified (its contact is a sales contact), and
    sales has accepted SALES_ACCEPTED_PER_TEN in ten of the other leads scoring handed over.
    Three statements per step, whatever the size; each move is in the leads' history."""
    now = timezone.now()
    actor_reason = "Demo data: what sales did with the lead."
    moved = []
    steps = (
        (
            LeadStatus.QUALIFIED,
            Lead.objects.filter(opportunities__isnull=False).exclude(status=LeadStatus.QUALIFIED).distinct(),
        ),
        (
            LeadStatus.SALES_ACCEPTED,
            Lead.objects.annotate(bucket=models.functions.Mod("id", 10)).filter(
                status=LeadStatus.MARKETING_QUALIFIED, bucket__lt=SALES_ACCEPTED_PER_TEN
            ),
        ),
    )
    for to_status, leads in steps:
        rows = list(leads.values_list("id", "status"))
        ids = [lead_id for lead_id, _ in rows]
        for start in range(0, len(ids), 10_000):  # within every database's parameter limit
            Lead.objects.filter(pk__in=ids[start : start + 10_000]).update(status=to_status, updated_at=now)
        LeadStatusChange.objects.bulk_create(
            (
                LeadStatusChange(
                    lead_id=lead_id,
                    from_status=status,
                    to_status=to_status,
                    reason=actor_reason,
                    changed_at=now,
                )
                for lead_id, status in rows
            ),
            batch_size=1000,
        )
        moved.append(len(ids))
    _analyze(Lead)
    qualified_contacts = Lead.objects.filter(status=LeadStatus.QUALIFIED).values("parent_contact_id")
    Contact.objects.filter(marketing_only=True, pk__in=qualified_contacts).update(
        marketing_only=False, updated_at=now
    )
    return moved[1], moved[0]
