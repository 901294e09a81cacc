"""The duplicates page, the compare-and-merge page, the contact page's link and the merged-away id."""

import pytest
from django.urls import reverse

from crm_core.models import ConsentLevel, Contact, DuplicateScan
from crm_core.services import duplicates_scan_run
from crm_core.tests.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def page_client(client, marketer):
    client.force_login(marketer)
    return client


@pytest.fixture
def pair():
    acme = AccountFactory(name="Acme")
    keep = ContactFactory(first_name="Ann", last_name="Lee", parent_account=acme, phone="",
                          consent_level=ConsentLevel.PROFILING)  # fmt: skip
    gone = ContactFactory(first_name="ann", last_name="lee", parent_account=acme, phone="555-0101",
                          consent_level=ConsentLevel.CONSENT)  # fmt: skip
    return keep, gone


def test_the_duplicates_page_lists_pairs_with_reasons(page_client, pair):
    keep, gone = pair
    url = reverse("workspace:duplicate-list")
    assert "No scan has run yet" in page_client.get(url).content.decode()
    duplicates_scan_run()
    page = page_client.get(url).content.decode()
    assert f'data-pair="{keep.pk}-{gone.pk}"' in page and "Same name at the same account" in page
    assert 'data-testid="duplicate-count">1<' in page and "Last scanned" in page
    assert page_client.get(url, {"cursor": "x"}).status_code == 404


def test_scan_now_shows_scanning_then_reloads(page_client, pair, django_capture_on_commit_callbacks):
    keep, gone = pair
    with django_capture_on_commit_callbacks() as queued:
        response = page_client.post(reverse("workspace:duplicate-scan"))
    assert response.status_code == 302 and len(queued) == 1
    page = page_client.get(reverse("workspace:duplicate-list")).content.decode()
    assert 'data-state="scanning"' in page and "Scanning all contacts" in page and "disabled" in page
    status = reverse("workspace:duplicate-scan-status")
    assert 'hx-trigger="every 2s"' in page_client.get(status).content.decode()
    duplicates_scan_run(scan_id=DuplicateScan.objects.get().pk)
    done = page_client.get(status)
    assert done.status_code == 200 and done["HX-Refresh"] == "true"
    assert (
        f'data-pair="{keep.pk}-{gone.pk}"'
        in page_client.get(reverse("workspace:duplicate-list")).content.decode()
    )


def test_not_a_duplicate_hides_the_pair_for_good(page_client, client, pair, sales_rep):
    keep, gone = pair
    duplicates_scan_run()
    dismiss = reverse("workspace:duplicate-dismiss", args=[keep.pk, gone.pk])
    response = page_client.post(dismiss, {"next": "https://elsewhere.test/"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("workspace:duplicate-list")
    page = response.content.decode()
    assert "marked as not duplicates" in page and f'data-pair="{keep.pk}-{gone.pk}"' not in page
    duplicates_scan_run()
    assert (
        f'data-pair="{keep.pk}-' not in page_client.get(reverse("workspace:duplicate-list")).content.decode()
    )
    box = page_client.get(reverse("workspace:contact-duplicates", args=[keep.pk])).content.decode()
    assert "contact-duplicates" not in box
    same = page_client.post(reverse("workspace:duplicate-dismiss", args=[keep.pk, keep.pk]), follow=True)
    assert "not a duplicate of itself" in same.content.decode()
    client.force_login(sales_rep)  # (the same client as page_client)
    assert client.post(dismiss).status_code == 403
    assert client.post(reverse("workspace:duplicate-scan")).status_code == 403
    assert client.get(reverse("workspace:duplicate-scan-status")).status_code == 403


def test_the_compare_page_shows_what_the_survivor_keeps_and_the_merge_redirects(page_client, pair):
    keep, gone = pair
    url = reverse("workspace:contact-merge", args=[keep.pk, gone.pk])
    page = page_client.get(url).content.decode()
    phone = page[page.index('data-field="Phone"') :]
    assert "555-0101" in phone[: phone.index("</tr>")] and f"from #{gone.pk}" in phone[: phone.index("</tr>")]
    level = page[page.index('data-field="Consent level"') :]
    assert "<strong>Consent</strong>" in level[: level.index("</tr>")]  # the stricter (lower) level
    flipped = page_client.get(url, {"survivor": gone.pk}).content.decode()
    assert f'name="survivor" value="{gone.pk}"' in flipped[flipped.index('data-testid="merge-form"') :]
    confirm = reverse("workspace:contact-merge-confirm", args=[keep.pk, gone.pk])
    response = page_client.post(confirm, {"survivor": keep.pk, "other": gone.pk, "confirm": "on"})
    assert response.status_code == 302 and response["Location"] == reverse(
        "workspace:contact-detail", args=[keep.pk]
    )
    assert not Contact.objects.filter(pk=gone.pk).exists()
    # The merged-away id's page opens the survivor with a notice.
    old = page_client.get(reverse("workspace:contact-detail", args=[gone.pk]), follow=True)
    assert old.redirect_chain[-1][0] == reverse("workspace:contact-detail", args=[keep.pk])
    assert f"Contact {gone.pk} was merged into this contact" in old.content.decode()
    again = page_client.get(url)
    assert again.status_code == 404 and f"already merged into contact {keep.pk}" in again.content.decode()


def test_the_contact_page_links_its_candidates_and_reps_may_not_merge(page_client, client, pair, sales_rep):
    keep, gone = pair
    box = page_client.get(reverse("workspace:contact-duplicates", args=[keep.pk])).content.decode()
    assert reverse("workspace:contact-merge", args=[keep.pk, gone.pk]) in box
    assert (
        reverse("workspace:contact-duplicates", args=[keep.pk])
        in page_client.get(reverse("workspace:contact-detail", args=[keep.pk])).content.decode()
    )
    client.force_login(sales_rep)
    assert client.get(reverse("workspace:duplicate-list")).status_code == 403
    confirm = reverse("workspace:contact-merge-confirm", args=[keep.pk, gone.pk])
    assert client.post(confirm, {"survivor": keep.pk, "other": gone.pk}).status_code == 403
    assert (
        "contact-duplicates"
        not in client.get(reverse("workspace:contact-detail", args=[keep.pk])).content.decode()
    )
    assert Contact.objects.filter(pk=gone.pk).exists()
