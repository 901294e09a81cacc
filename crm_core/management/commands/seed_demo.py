import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from crm_core.demo import seed_demo
from crm_core.models import Contact


class Command(BaseCommand):
    help = "Add a reproducible demo data set (accounts, contacts, leads incl. orphans, interactions, ...)."

    def add_arguments(self, parser):
        parser.add_argument("--contacts", type=int, default=1000, help="number of contacts (default 1000)")
        parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
        parser.add_argument("--if-empty", action="store_true", help="do nothing when contacts already exist")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, contacts, seed, if_empty, no_progress, **options):
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
