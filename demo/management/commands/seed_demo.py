import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from crm_core.models import Contact
from demo.seeding import seed_demo
from demo.workflows import demo_run_workflows


class Command(BaseCommand):
    help = (
        "Add a reproducible demo data set (accounts, contacts, leads incl. orphans, interactions, ...), "
        "the demo's definitions (seed_demo_definitions), then run what production would have run: the "
        "orphan-lead workflow, the live scoring models and the live segments."
    )

    def add_arguments(self, parser):
        parser.add_argument("--contacts", type=int, default=1000, help="number of contacts (default 1000)")
        parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
        parser.add_argument("--if-empty", action="store_true", help="do nothing when contacts already exist")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")
        parser.add_argument(
            "--rows-only", action="store_true", help="only the rows: no definitions, no workflows run"
        )

    def handle(self, *args, contacts, seed, if_empty, no_progress, rows_only, **options):
        if contacts < 1:
            raise CommandError("--contacts must be at least 1")
        if if_empty and Contact.objects.exists():
            self.stdout.write("Contacts exist already; no demo data added.")
            return
        started = time.perf_counter()
        with tqdm(total=contacts, unit="contacts", disable=no_progress) as bar:
            counts = seed_demo(contacts=contacts, seed=seed, progress=bar.update)
        elapsed = time.perf_counter() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Added {counts.accounts} accounts, {counts.contacts} contacts, {counts.leads} leads "
                f"({counts.orphan_leads} orphans), {counts.opportunities} opportunities, "
                f"{counts.interactions} interactions, {counts.list_memberships} list memberships, "
                f"{counts.event_registrations} event registrations in {elapsed:.1f}s."
            )
        )
        if rows_only:
            return
        call_command("seed_demo_definitions", stdout=self.stdout)
        started = time.perf_counter()
        done = demo_run_workflows()
        self.stdout.write(
            self.style.SUCCESS(
                f"Ran the workflows in {time.perf_counter() - started:.1f}s: {done.orphans_linked} orphan "
                f"leads linked ({done.marketing_only_contacts} marketing-only contacts made), "
                f"{done.leads_handed_off} leads handed to sales by scoring, {done.sales_accepted} accepted "
                f"and {done.qualified} qualified by sales, {done.segments_refreshed} live segments refreshed."
            )
        )
