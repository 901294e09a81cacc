"""Tracked links were stored as their href was written in the HTML (`?a=1&amp;b=2`), so a click
redirected to the escaped text. Store the URL the href means, as links are stored from now on."""

from html import unescape

from django.db import migrations


def unescape_tracked_link_urls(apps, schema_editor):
    TrackedLink = apps.get_model("journeys", "TrackedLink")
    links = list(TrackedLink.objects.filter(url__contains="&").only("pk", "url"))
    for link in links:
        link.url = unescape(link.url)
    TrackedLink.objects.bulk_update(links, ["url"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [("journeys", "0005_outbox_claimed_at")]

    operations = [migrations.RunPython(unescape_tracked_link_urls, migrations.RunPython.noop)]
