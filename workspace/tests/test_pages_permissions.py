"""Every page of the web UI, walked anonymously and as each role.

The UI's url names are discovered from the URL configuration, so a new page fails this test until
its expected statuses are written down here.
"""

import html
import json
import re

import pytest
from django.apps import apps
from django.db.models import JSONField
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from crm_core.models import Event, LeadStatus
from crm_core.tests.factories import (
    AccountFactory,
    ContactFactory,
    LeadFactory,
    MarketerFactory,
    OpportunityFactory,
    SalesRepFactory,
)
from journeys.models import StepKind
from journeys.tests.factories import make_journey, send_email_step
from landing.tests.factories import LandingPageFactory
from segments.models import Segment

pytestmark = pytest.mark.django_db

# Not part of the logged-in UI: Django admin, the REST API, authentication, public pages.
NOT_UI_NAMESPACES = {"admin", "api"}
PUBLIC = {
    "login", "logout", "password_change", "password_change_done", "password_reset",
    "password_reset_done", "password_reset_confirm", "password_reset_complete",
    "landing:page", "landing:preferences", "journeys:open-pixel", "journeys:tracked-click",
    "landing:consent-confirm", "landing:one-click-unsubscribe", "landing:page-embed",
}  # fmt: skip

OK, FORBIDDEN, REDIRECT = 200, 403, 302
# url name -> (marketing, sales, admin) status for a GET
EXPECTED = {
    "home": (REDIRECT, REDIRECT, REDIRECT),
    "workspace:dashboard": (OK, FORBIDDEN, OK),
    "workspace:contact-list": (OK, OK, OK),
    "workspace:contact-detail": (OK, OK, OK),
    "workspace:account-list": (OK, OK, OK),
    "workspace:account-detail": (OK, OK, OK),
    "workspace:lead-queue": (OK, OK, OK),
    "workspace:lead-detail": (OK, OK, OK),
    "workspace:lead-score": (OK, OK, OK),
    "workspace:lead-action": (405, 405, 405),  # POST only; POSTs are checked below
    "workspace:identity-review": (OK, FORBIDDEN, OK),
    "workspace:identity-link": (405, 405, 405),  # POST only (crm_core/tests/test_identity_review.py)
    "workspace:identity-dismiss": (405, 405, 405),
    "workspace:opportunity-list": (OK, OK, OK),
    # Records kept in the app (workspace/views/records.py): marketers only read opportunities.
    "workspace:contact-create": (OK, OK, OK),
    "workspace:contact-edit": (OK, OK, OK),
    "workspace:account-create": (OK, OK, OK),
    "workspace:account-edit": (OK, OK, OK),
    "workspace:lead-list": (OK, OK, OK),
    "workspace:lead-export": (OK, OK, OK),  # the list as CSV (workspace/tests/test_lead_export.py)
    "workspace:lead-create": (OK, OK, OK),
    "workspace:lead-edit": (OK, OK, OK),  # an unowned lead; another rep's: test_pages_records.py
    "workspace:opportunity-detail": (OK, OK, OK),
    "workspace:opportunity-create": (FORBIDDEN, OK, OK),
    "workspace:opportunity-edit": (FORBIDDEN, OK, OK),
    "workspace:saved-view-save": (405, 405, 405),  # POST only (workspace/tests/test_saved_views.py)
    "workspace:saved-view-delete": (405, 405, 405),
    "workspace:import-list": (OK, FORBIDDEN, OK),
    # No import 999999: the access rule answers first (workspace/tests/test_pages_imports.py).
    "workspace:import-detail": (404, FORBIDDEN, 404),
    "workspace:import-progress": (404, FORBIDDEN, 404),
    "workspace:import-report": (404, FORBIDDEN, 404),
    "workspace:import-mapping": (405, 405, 405),  # POST only
    "workspace:import-run": (405, 405, 405),
    # Events (workspace/views/events.py): everyone reads, marketers and admins manage.
    "workspace:event-list": (OK, OK, OK),
    "workspace:event-detail": (OK, OK, OK),
    "workspace:event-create": (OK, FORBIDDEN, OK),
    "workspace:event-edit": (OK, FORBIDDEN, OK),
    "workspace:event-registration-attend": (405, 405, 405),  # POST only (test_pages_events.py)
    # Duplicates and merging (workspace/views/merges.py): marketers and admins; the contact page's
    # box is empty for reps (workspace/tests/test_pages_merge.py).
    "workspace:duplicate-list": (OK, FORBIDDEN, OK),
    "workspace:duplicate-scan-status": (OK, FORBIDDEN, OK),
    "workspace:duplicate-scan": (405, 405, 405),  # POST only
    "workspace:duplicate-dismiss": (405, 405, 405),
    "workspace:contact-merge": (OK, FORBIDDEN, OK),
    "workspace:contact-merge-confirm": (405, 405, 405),
    "workspace:contact-duplicates": (OK, OK, OK),
    "leadscoring:model-list": (OK, OK, OK),
    "segments:list": (OK, OK, OK),
    "segments:new": (OK, FORBIDDEN, OK),
    "segments:builder": (OK, OK, OK),  # read-only for sales, see below
    "journeys:list": (OK, OK, OK),
    "journeys:detail": (OK, OK, OK),
    "journeys:step-save": (405, 405, 405),  # POST only (journeys/tests/test_pages.py)
    "journeys:step-delete": (405, 405, 405),
    "journeys:go-live": (OK, FORBIDDEN, OK),  # the confirmation asks marketers first
    # Custom fields (workspace/views/custom_fields.py): everyone reads, marketers and admins define.
    "workspace:custom-field-list": (OK, OK, OK),
    "workspace:custom-field-label": (405, 405, 405),  # POST only
    "workspace:custom-field-delete": (405, 405, 405),
    # Email templates (journeys/email_views.py): sales reps read; no template 999999.
    "journeys:email-list": (OK, OK, OK),
    "journeys:email-editor": (404, 404, 404),
    "journeys:email-preview": (404, 404, 404),
    "journeys:email-contacts": (OK, OK, OK),
    "landing:editor-list": (OK, OK, OK),
    "landing:editor-new": (OK, FORBIDDEN, OK),
    "landing:editor-edit": (OK, OK, OK),
    "landing:editor-requeue-failed": (405, 405, 405),  # POST only (landing/tests/test_page_definitions.py)
    "landing:editor-preview": (405, 405, 405),  # POST only (landing/tests/test_editor_preview_embed.py)
    "sales:timeline": (OK, OK, OK),
    "sales:work": (OK, OK, OK),
    "sales:activity-create": (405, 405, 405),  # POST only (sales/tests/test_pages.py)
    "sales:task-create": (405, 405, 405),
    "sales:task-complete": (405, 405, 405),
    "sales:journey-tasks": (OK, OK, OK),
    "sales:notifications": (OK, OK, OK),
    "sales:notifications-badge": (OK, OK, OK),
}


def _names(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            namespace = entry.namespace
            if namespace in NOT_UI_NAMESPACES or str(entry.pattern).startswith("api/"):
                continue
            yield from _names(entry.url_patterns, f"{prefix}{namespace}:" if namespace else prefix)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{prefix}{entry.name}"


def ui_url_names() -> set[str]:
    return set(_names(get_resolver().url_patterns)) - PUBLIC


@pytest.fixture
def records(marketer):
    contact = ContactFactory(parent_account=AccountFactory())
    lead = LeadFactory(parent_contact=contact)
    return {
        "contact": contact.pk,
        "other_contact": ContactFactory().pk,
        "account": contact.parent_account_id,
        "lead": lead.pk,
        "opportunity": OpportunityFactory(contact=contact).pk,
        "segment": Segment.objects.create(name="Decision makers").pk,
        "journey": make_journey(steps=[send_email_step()]).pk,
        "landing": LandingPageFactory().pk,
        "event": Event.objects.create(name="Summit").pk,
    }


def url_of(name: str, records) -> str:
    args = {
        "workspace:contact-detail": [records["contact"]],
        "workspace:account-detail": [records["account"]],
        "workspace:lead-detail": [records["lead"]],
        "workspace:lead-score": [records["lead"]],
        "workspace:contact-edit": [records["contact"]],
        "workspace:account-edit": [records["account"]],
        "workspace:lead-edit": [records["lead"]],
        "workspace:opportunity-detail": [records["opportunity"]],
        "workspace:opportunity-edit": [records["opportunity"]],
        "workspace:saved-view-save": ["lead"],
        "workspace:saved-view-delete": [1],
        "workspace:lead-action": [records["lead"], "accept"],
        "workspace:identity-link": [records["lead"]],
        "workspace:identity-dismiss": [records["lead"]],
        "landing:editor-requeue-failed": [records["landing"]],
        "segments:builder": [records["segment"]],
        "journeys:detail": [records["journey"]],
        "journeys:step-save": [records["journey"]],
        "journeys:step-delete": [records["journey"]],
        "journeys:go-live": [records["journey"]],
        "journeys:email-editor": [999999],
        "workspace:custom-field-label": [1],
        "workspace:custom-field-delete": [1],
        "journeys:email-preview": [999999],
        "landing:editor-edit": [records["landing"]],
        "sales:timeline": ["lead", records["lead"]],
        "workspace:import-detail": [999999],
        "workspace:import-progress": [999999],
        "workspace:import-report": [999999],
        "workspace:import-mapping": [999999],
        "workspace:import-run": [999999],
        "sales:work": ["contact", records["contact"]],
        "sales:activity-create": ["lead", records["lead"]],
        "sales:task-create": ["account", records["account"]],
        "sales:task-complete": [1],
        "sales:journey-tasks": [records["journey"]],
        "workspace:event-detail": [records["event"]],
        "workspace:event-edit": [records["event"]],
        "workspace:event-registration-attend": [records["event"], 1],
        "workspace:duplicate-dismiss": [records["contact"], records["other_contact"]],
        "workspace:contact-merge": [records["contact"], records["other_contact"]],
        "workspace:contact-merge-confirm": [records["contact"], records["other_contact"]],
        "workspace:contact-duplicates": [records["contact"]],
    }.get(name, [])
    return reverse(name, args=args)


def test_every_ui_page_is_listed_here():
    assert ui_url_names() == set(EXPECTED)


def test_anonymous_users_are_sent_to_the_login_page_everywhere(client, records):
    for name in EXPECTED:
        url = url_of(name, records)
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 302, (name, method)
            assert response["Location"].startswith(f"/accounts/login/?next={url}"), name


@pytest.mark.parametrize("role", ["marketing", "sales", "admin"])
def test_each_role_gets_the_expected_status_on_every_page(client, records, role, sales_rep, admin_user):
    user = {"marketing": MarketerFactory(username="mia"), "sales": sales_rep, "admin": admin_user}[role]
    client.force_login(user)
    column = ("marketing", "sales", "admin").index(role)
    for name, statuses in EXPECTED.items():
        response = client.get(url_of(name, records))
        assert response.status_code == statuses[column], (role, name, response.status_code)
        if response.status_code == 302:
            assert not response["Location"].startswith("/accounts/login/"), name


def test_only_sales_and_admin_move_leads(client, sales_rep, admin_user):
    marketer = MarketerFactory(username="mia")
    for user, expected in ((marketer, 403), (sales_rep, 302), (admin_user, 302)):
        lead = LeadFactory(owner=None, status=LeadStatus.NEW)
        client.force_login(user)
        response = client.post(reverse("workspace:lead-action", args=[lead.pk, "accept"]))
        assert response.status_code == expected, user
        lead.refresh_from_db()
        assert lead.status == (LeadStatus.NEW if expected == 403 else LeadStatus.SALES_ACCEPTED)


def test_sales_reps_see_marketing_definitions_read_only(client, records, sales_rep):
    client.force_login(sales_rep)
    builder = client.get(url_of("segments:builder", records))
    assert b'data-can-edit="false"' in builder.content
    journey = client.get(url_of("journeys:detail", records))
    assert b"Go live" not in journey.content and b"Save settings" not in journey.content
    assert client.post(url_of("journeys:detail", records), {"action": "go-live"}).status_code == 403
    landing = client.get(url_of("landing:editor-edit", records))
    assert b"disabled" in landing.content and b'type="submit">Save' not in landing.content
    assert client.post(url_of("landing:editor-edit", records), {"title": "x"}).status_code == 403
    scoring = client.get(reverse("leadscoring:model-list"))
    assert b"edit-in-admin" not in scoring.content
    nav = client.get(reverse("workspace:lead-queue")).content.decode()
    assert reverse("workspace:dashboard") not in nav and reverse("workspace:lead-queue") in nav


def test_the_home_page_sends_each_role_to_its_start_page(client, sales_rep, admin_user):
    client.force_login(MarketerFactory(username="mia"))
    assert client.get("/")["Location"] == reverse("workspace:dashboard")
    client.force_login(SalesRepFactory(username="sam"))
    assert client.get("/")["Location"] == reverse("workspace:lead-queue")
    client.force_login(admin_user)
    assert client.get("/")["Location"] == reverse("workspace:dashboard")


def _json_field_names() -> set[str]:
    return {f.name for m in apps.get_models() for f in m._meta.get_fields() if isinstance(f, JSONField)}


def _looks_like_json(text: str) -> bool:
    try:
        return isinstance(json.loads(html.unescape(text).strip()), dict | list)
    except ValueError:
        return False


def test_no_page_asks_for_json_in_a_textarea(client, records, admin_user):
    """Every page as an admin (who may open all of them), plus the journey designer's side panel for
    its step and for a new step of each kind: no textarea is named after a JSON column or holds JSON."""
    client.force_login(admin_user)
    designer = url_of("journeys:detail", records)
    urls = [url_of(name, records) for name, statuses in EXPECTED.items() if statuses[2] == OK]
    urls += [f"{designer}?step=welcome", *(f"{designer}?add={kind}&place=start" for kind in StepKind.values)]
    json_names = _json_field_names()
    assert {"definition", "config", "custom"} <= json_names  # the columns a textarea must never be
    textarea = re.compile(r"<textarea([^>]*)>(.*?)</textarea>", re.S)
    seen = 0
    for url in urls:
        response = client.get(url)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        for attributes, content in textarea.findall(response.content.decode()):
            seen += 1
            name = re.search(r'name="([^"]*)"', attributes)
            assert not (name and name.group(1) in json_names), (url, name.group(1))
            assert not _looks_like_json(content), (url, attributes, content[:200])
    assert seen >= 10, seen  # the walk reached the forms that have textareas (14 when written)
