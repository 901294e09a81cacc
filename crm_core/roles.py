"""The three roles (Django groups) and the model permissions each one holds.

Groups are created by a data migration (crm_core 0002). Their permissions are
(re)assigned after every `migrate`, because a model's permissions only exist
once its app has migrated: a model added later by any app is covered by the
app-level entries below without another migration.
"""

from django.contrib.auth.models import Group, Permission

MARKETING = "marketing"
SALES = "sales"
ADMIN = "admin"
ROLES = (MARKETING, SALES, ADMIN)

ALL = ("view", "add", "change", "delete")
READ = ("view",)
WRITE = ("view", "add", "change")

# role -> {app_label or "app_label.model": actions}; a model entry overrides its app entry.
ROLE_PERMISSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    MARKETING: {
        "crm_core": WRITE,
        "crm_core.opportunity": READ,
        "crm_core.subscriptionlist": ALL,
        "crm_core.customfield": ALL,
        "crm_core.listmembership": ALL,
        "crm_core.event": ALL,
        "crm_core.eventregistration": ALL,
        "segments": ALL,
        "leadscoring": ALL,
        "journeys": ALL,
        "landing": ALL,
        "sales": READ,
    },
    SALES: {
        "crm_core": READ,
        "crm_core.account": WRITE,
        "crm_core.contact": WRITE,
        "crm_core.lead": WRITE,
        "crm_core.opportunity": WRITE,
        "segments": READ,
        "leadscoring": READ,
        "journeys": READ,
        "landing": READ,
        "sales": WRITE,
        "sales.activity": ALL,
        "sales.task": ALL,
    },
    ADMIN: {
        "auth": ALL,
        "authtoken": ALL,
        "crm_core": ALL,
        "segments": ALL,
        "leadscoring": ALL,
        "journeys": ALL,
        "landing": ALL,
        "sales": ALL,
    },
}


def permissions_for(role: str):
    """The Permission rows a role should hold, as one queryset."""
    grants = ROLE_PERMISSIONS[role]
    wanted: set[tuple[str, str, str]] = set()
    perms = Permission.objects.select_related("content_type").filter(
        content_type__app_label__in={key.split(".")[0] for key in grants}
    )
    for perm in perms:
        app_label, model = perm.content_type.app_label, perm.content_type.model
        actions = grants.get(f"{app_label}.{model}", grants.get(app_label, ()))
        action = perm.codename.split("_", 1)[0]
        if action in actions:
            wanted.add((app_label, model, perm.codename))
    return [p for p in perms if (p.content_type.app_label, p.content_type.model, p.codename) in wanted]


def sync_role_permissions(**kwargs) -> None:
    """post_migrate receiver: give each role exactly the permissions above."""
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(permissions_for(role))


def user_roles(user) -> set[str]:
    """The roles a user holds; a superuser holds every role."""
    if not user.is_authenticated:
        return set()
    if user.is_superuser:
        return set(ROLES)
    # Pages ask several times per request (navigation, permissions); one query per user object.
    cached = getattr(user, "_nurture_roles", None)
    if cached is None:
        cached = frozenset(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        user._nurture_roles = cached
    return set(cached)
