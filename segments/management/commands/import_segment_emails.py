import csv

from django.core.management.base import BaseCommand, CommandError

from segments.models import Segment, SegmentKind
from segments.services import static_segment_fill


class Command(BaseCommand):
    help = (
        "Add the contacts whose emails a CSV lists (first column, or the 'email' column) to a static segment."
    )

    def add_arguments(self, parser):
        parser.add_argument("segment_id", type=int)
        parser.add_argument("csv_file")

    def handle(self, *args, segment_id, csv_file, **options):
        segment = Segment.objects.filter(pk=segment_id, kind=SegmentKind.STATIC).first()
        if segment is None:
            raise CommandError(f"there is no static segment {segment_id}")
        try:
            with open(csv_file, newline="", encoding="utf-8-sig") as handle:
                rows = list(csv.reader(handle))
        except OSError as exc:
            raise CommandError(f"cannot read {csv_file}: {exc}") from exc
        column = 0
        if rows and "email" in [cell.strip().lower() for cell in rows[0]]:
            column = [cell.strip().lower() for cell in rows[0]].index("email")
            rows = rows[1:]
        emails = [row[column] for row in rows if len(row) > column]
        added = static_segment_fill(segment=segment, emails=emails)
        self.stdout.write(f"{added} contacts added; the segment has {segment.member_count} members.")
