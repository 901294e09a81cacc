import pytest
from django.contrib.auth.models import Group

from crm_core.roles import ROLES, user_roles

from .factories import AdminUserFactory, MarketerFactory, SalesRepFactory

pytestmark = pytest.mark.django_db


def _perms(group_name):
    return set(
        Group.objects.get(name=group_name).permissions.values_list("content_type__app_label", "codename")
    )


def test_the_three_groups_exist():
    assert set(Group.objects.filter(name__in=ROLES).values_list("name", flat=True)) == set(ROLES)


def test_sales_works_records_but_cannot_delete_contacts_or_change_lists():
    perms = _perms("sales")
    assert {
        ("crm_core", "change_lead"),
        ("crm_core", "add_opportunity"),
        ("crm_core", "view_contact"),
    } <= perms
    assert ("crm_core", "delete_contact") not in perms
    assert ("crm_core", "change_subscriptionlist") not in perms


def test_marketing_manages_lists_but_only_reads_opportunities():
    perms = _perms("marketing")
    assert {("crm_core", "change_contact"), ("crm_core", "delete_subscriptionlist")} <= perms
    assert ("crm_core", "view_opportunity") in perms
    assert ("crm_core", "change_opportunity") not in perms


def test_admin_role_holds_every_crm_permission():
    perms = _perms("admin")
    for action in ("add", "change", "delete", "view"):
        assert ("crm_core", f"{action}_contact") in perms


def test_user_roles():
    assert user_roles(MarketerFactory()) == {"marketing"}
    assert user_roles(SalesRepFactory()) == {"sales"}
    assert user_roles(AdminUserFactory()) == set(ROLES)
    rep = SalesRepFactory()
    assert rep.has_perm("crm_core.change_lead") and not rep.has_perm("crm_core.delete_lead")
