import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from crm_core.selectors import lead_orphans, orphan_workflow_enabled
from crm_core.services import ORPHAN_LINK_BATCH_SIZE, lead_link_orphans


class Command(BaseCommand):
    help = (
        "Run the orphan-lead workflow on every lead without a parent contact: link it to the contact "
        "with its email, or create a marketing-only contact for it."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size",
            type=int,
            default=ORPHAN_LINK_BATCH_SIZE,
            help=f"leads per transaction (default {ORPHAN_LINK_BATCH_SIZE:,})",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, batch_size, no_progress, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        if not orphan_workflow_enabled():
            self.stdout.write(
                self.style.WARNING(
                    "The orphan-lead workflow is switched off in the workflow settings; "
                    "linking now because you asked."
                )
            )
        orphans = lead_orphans().count()
        if not orphans:
            self.stdout.write("There are no orphan leads.")
            return
        started = time.perf_counter()
        with tqdm(total=orphans, unit="leads", disable=no_progress) as bar:
            result = lead_link_orphans(batch_size=batch_size, progress=bar.update)
        self.stdout.write(
            self.style.SUCCESS(
                f"Linked {result.leads_linked:,} orphan leads: {result.contacts_created:,} marketing-only "
                f"contacts created, {result.contacts_matched:,} existing contacts matched, "
                f"in {time.perf_counter() - started:.1f}s."
            )
        )
