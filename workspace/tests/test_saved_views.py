"""Saved views of the contact and lead lists: per user, shared read-only, validated before saving."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from crm_core.tests.factories import LeadFactory, SalesRepFactory
from workspace.models import SavedView

pytestmark = pytest.mark.django_db


def save(client, entity, name, query, shared=False):
    data = {"name": name, "query": query}
    if shared:
        data["shared"] = "on"
    return client.post(reverse("workspace:saved-view-save", args=[entity]), data)


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_a_saved_view_keeps_the_filters_and_applies_them(client, sales_rep):
    LeadFactory(topic="Mine", owner=sales_rep)
    LeadFactory(topic="Not mine")
    client.force_login(sales_rep)

    response = save(client, "lead", "My open leads", "owner=me&status=&cursor=abc&ordering=-id")

    view = SavedView.objects.get()
    assert (view.owner, view.entity, view.name, view.query, view.shared) == (
        sales_rep,
        "lead",
        "My open leads",
        "owner=me&ordering=-id",  # no cursor, no empty values
        False,
    )
    assert (
        response.status_code == 302
        and response["Location"] == reverse("workspace:lead-list") + "?" + view.query
    )
    assert messages_of(response) == ["View “My open leads” saved."]
    page = client.get(response["Location"])
    assert [lead.topic for lead in page.context["rows"]] == ["Mine"]
    assert "My open leads" in page.content.decode()


def test_saving_under_the_same_name_replaces_the_view(client, marketer):
    client.force_login(marketer)
    save(client, "contact", "Germans", "country=Germany")
    response = save(client, "contact", "Germans", "country=Germany&job_role=student", shared=True)
    view = SavedView.objects.get()
    assert view.query == "country=Germany&job_role=student" and view.shared
    assert messages_of(response)[-1] == "View “Germans” replaced and shared with everyone."


def test_an_invalid_filter_set_is_not_saved(client, sales_rep):
    client.force_login(sales_rep)
    response = save(client, "lead", "Broken", "status=won")
    assert response.status_code == 302
    assert not SavedView.objects.exists()
    assert messages_of(response)[0].startswith("View not saved: status:")
    assert save(client, "lead", "", "status=new").status_code == 302 and not SavedView.objects.exists()
    assert (
        client.post(reverse("workspace:saved-view-save", args=["account"]), {"name": "x"}).status_code == 404
    )


def test_shared_views_are_offered_to_others_read_only(client, sales_rep):
    other = SalesRepFactory(username="other")
    shared = SavedView.objects.create(
        owner=other, entity="lead", name="Hot leads", query="sales_ready=yes", shared=True
    )
    SavedView.objects.create(owner=other, entity="lead", name="Private", query="owner=me")
    SavedView.objects.create(owner=other, entity="contact", name="Contacts view", query="", shared=True)
    client.force_login(sales_rep)

    page = client.get(reverse("workspace:lead-list"))
    assert [v.name for v in page.context["saved_views"]] == ["Hot leads"]
    html = page.content.decode()
    assert "shared by other" in html
    assert reverse("workspace:saved-view-delete", args=[shared.pk]) not in html

    refused = client.post(reverse("workspace:saved-view-delete", args=[shared.pk]))
    assert refused.status_code == 403
    assert SavedView.objects.filter(pk=shared.pk).exists()


def test_the_owner_deletes_their_view(client, sales_rep):
    view = SavedView.objects.create(owner=sales_rep, entity="contact", name="Mine", query="owner=me")
    client.force_login(sales_rep)
    page = client.get(reverse("workspace:contact-list"))
    assert reverse("workspace:saved-view-delete", args=[view.pk]) in page.content.decode()
    response = client.post(reverse("workspace:saved-view-delete", args=[view.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("workspace:contact-list")
    assert not SavedView.objects.exists()
    assert client.get(reverse("workspace:saved-view-delete", args=[view.pk])).status_code == 405
