import pytest
from django.contrib import admin
from django.urls import reverse

from demo.seeding import seed_demo

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_data():
    seed_demo(contacts=60, seed=1)


def _admin_urls():
    for model in admin.site._registry:
        yield model, model._meta.app_label, model._meta.model_name


def test_every_changelist_and_form_answers_200_with_demo_data(client, admin_user, demo_data):
    client.force_login(admin_user)
    for model, app, name in _admin_urls():
        changelist = client.get(reverse(f"admin:{app}_{name}_changelist"))
        assert changelist.status_code == 200, (app, name)
        add = client.get(reverse(f"admin:{app}_{name}_add"))
        assert add.status_code in (200, 403), (app, name)
        obj = model._default_manager.order_by("pk").first()
        if obj is not None:
            change = client.get(reverse(f"admin:{app}_{name}_change", args=[obj.pk]))
            assert change.status_code == 200, (app, name)


def test_changelist_filters_answer_200(client, admin_user, demo_data):
    client.force_login(admin_user)
    for query in ("orphan=yes", "orphan=no", "status__exact=new", "sales_ready__exact=1", "q=contoso"):
        assert client.get(reverse("admin:crm_core_lead_changelist") + "?" + query).status_code == 200
    for query in ("marketing_only__exact=1", "q=example", "job_role__exact=decision_maker"):
        assert client.get(reverse("admin:crm_core_contact_changelist") + "?" + query).status_code == 200


def test_admin_is_closed_to_anonymous_users(client):
    response = client.get(reverse("admin:crm_core_contact_changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
