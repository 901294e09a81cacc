import csv
import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from crm_core.services import LEAD_IMPORT_FIELDS, LeadImportInvalid, lead_bulk_import

MAX_ERRORS_SHOWN = 50


class Command(BaseCommand):
    help = (
        "Import leads from a CSV file whose header names lead fields "
        f"({', '.join(LEAD_IMPORT_FIELDS)}; topic is required). All rows or none: any invalid row "
        "stops the import before anything is saved. Orphan leads then get contacts (when the "
        "orphan-lead workflow is on)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV file (UTF-8, comma-separated, header row)")
        parser.add_argument("--batch-size", type=int, default=2_000, help="leads per INSERT (default 2,000)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, file, batch_size, no_progress, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        try:
            with open(file, newline="", encoding="utf-8-sig") as handle:
                reader = csv.DictReader(handle)
                if not reader.fieldnames:
                    raise CommandError(f"{file} is empty: expected a header row naming lead fields.")
                # Empty cells are absent values; a row with more cells than the header is refused.
                rows = [
                    {
                        key if key is not None else "(extra cells)": value
                        for key, value in row.items()
                        if value
                    }
                    for row in reader
                ]
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror or error}") from error
        except (UnicodeDecodeError, csv.Error) as error:
            raise CommandError(f"{file} is not a readable UTF-8 CSV file: {error}") from error
        if not rows:
            raise CommandError(f"{file} has a header but no rows.")

        started = time.perf_counter()
        elapsed = 0.0
        try:
            with tqdm(total=len(rows), unit="leads", disable=no_progress) as bar:
                result = lead_bulk_import(rows=rows, batch_size=batch_size, progress=bar.update)
            elapsed = time.perf_counter() - started
        except LeadImportInvalid as invalid:
            for index, errors in invalid.errors[:MAX_ERRORS_SHOWN]:
                details = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items())
                self.stderr.write(f"row {index + 1} (line {index + 2} with the header): {details}")
            if len(invalid.errors) > MAX_ERRORS_SHOWN:
                self.stderr.write(f"... and {len(invalid.errors) - MAX_ERRORS_SHOWN:,} more invalid rows")
            raise CommandError(f"{invalid}.") from invalid
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {result.leads_created:,} leads: {result.contacts_created:,} contacts created, "
                f"{result.contacts_linked:,} existing contacts linked, in {elapsed:.1f}s."
            )
        )
