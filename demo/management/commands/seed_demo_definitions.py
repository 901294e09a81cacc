"""Marketing definitions for the demo (`demo.definitions`): two live segments, a live primary scoring
model, a draft journey. `make run` calls it after `seed_demo`; idempotent."""

from django.core.management.base import BaseCommand

from demo.definitions import demo_definitions_ensure


class Command(BaseCommand):
    help = "Create the demo's segment, scoring model and journey if they are missing."

    def handle(self, *args, **options):
        made = demo_definitions_ensure()
        self.stdout.write("demo definitions: " + (", ".join(made) if made else "already there"))
