"""No admin page asks for typed JSON (issue 15): every registered ModelAdmin, its inlines included,
edits no JSONField through a JSON form field, and the add and change pages a superuser opens carry
no <textarea> for a JSON field of their models."""

import re

import pytest
from django import forms
from django.contrib import admin
from django.db import models
from django.urls import reverse
from django.utils import timezone

from crm_core import services as crm_services
from crm_core.models import AuditLog, InteractionKind
from crm_core.tests.factories import ContactFactory
from journeys.tests.factories import make_journey, send_email_step
from landing.tests.factories import LandingPageFactory
from leadscoring.tests.factories import ScoringModelFactory, ScoringRuleFactory
from segments.services import segment_create

pytestmark = pytest.mark.django_db

ADMINS = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)
TEXTAREA = re.compile(r'<textarea[^>]*\bname="([^"]+)"')


def _json_fields(model) -> set[str]:
    return {f.name for f in model._meta.get_fields() if isinstance(f, models.JSONField)}


def _editable(model_admin, request, obj=None) -> bool:
    return model_admin.has_add_permission(request) or model_admin.has_change_permission(request, obj)


@pytest.fixture
def records(admin_user):
    """One row of each model whose admin shows a JSON field, so its change page is walked too."""
    contact = ContactFactory()
    make_journey(steps=[send_email_step(), {"key": "done", "kind": "end"}], created_by=admin_user)
    rule_model = ScoringModelFactory()
    ScoringRuleFactory(model=rule_model)
    ScoringRuleFactory(
        model=rule_model,
        interaction_kind=None,
        condition={"entity": "lead", "conditions": [{"field": "topic", "op": "eq", "value": "x"}]},
    )
    LandingPageFactory()
    crm_services.custom_field_create(
        entity="contact", key="tier", label="Tier", field_type="choice", choices=["gold", "silver"]
    )
    crm_services.interaction_record(
        contact_id=contact.pk, kind=InteractionKind.PAGE_VISIT, occurred_at=timezone.now(),
        properties={"url": "https://example.com/pricing"},
    )  # fmt: skip
    segment_create(name="Everyone", definition={"entity": "contact", "match": "all", "conditions": []})
    AuditLog.objects.create(action="contact.export", object_type="contact", object_id="1", details={"n": 1})


@pytest.mark.parametrize("model, model_admin", ADMINS, ids=[m._meta.label for m, _ in ADMINS])
def test_no_admin_form_has_a_json_form_field(model, model_admin, rf, admin_user):
    request = rf.get("/")
    request.user = admin_user
    found = []
    if _editable(model_admin, request):
        form = model_admin.get_form(request, None)
        fields = form.base_fields.items()
        found += [f"{model._meta.label}.{n}" for n, f in fields if isinstance(f, forms.JSONField)]
    for formset, inline in model_admin.get_formsets_with_inlines(request, None):
        if inline.has_add_permission(request, None) or inline.has_change_permission(request, None):
            fields = formset.form.base_fields.items()
            found += [f"{inline.model._meta.label}.{n}" for n, f in fields if isinstance(f, forms.JSONField)]
    assert not found, f"JSON typed in the admin: {found}"


def test_no_admin_page_has_a_json_textarea(client, rf, admin_user, records):
    client.force_login(admin_user)
    request = rf.get("/")
    request.user = admin_user
    pages = 0
    for model, model_admin in ADMINS:
        info = model._meta.app_label, model._meta.model_name
        json_names = _json_fields(model) | {n for i in model_admin.inlines for n in _json_fields(i.model)}
        urls = [reverse("admin:{}_{}_add".format(*info))] if model_admin.has_add_permission(request) else []
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            urls.append(reverse("admin:{}_{}_change".format(*info), args=[first.pk]))
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            names = [name.rsplit("-", 1)[-1] for name in TEXTAREA.findall(response.content.decode())]
            assert not json_names & set(names), f"{url}: a JSON textarea for {json_names & set(names)}"
            pages += 1
    assert pages >= 30  # every registered admin's add page, and the change pages of the rows above
