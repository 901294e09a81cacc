"""What every page of the web UI needs: the navigation that fits the user's roles.

The menu links to every app's pages by URL name (the workspace's own and segments', journeys',
leadscoring's and landing's), so it imports none of them."""

from django.urls import reverse

from crm_core.roles import ADMIN, MARKETING, SALES, user_roles

# (label, url name, permission needed to see the link), per role, in menu order.
MARKETING_NAV = (
    ("Dashboard", "workspace:dashboard", "crm_core.view_contact"),
    ("Contacts", "workspace:contact-list", "crm_core.view_contact"),
    ("Leads", "workspace:lead-list", "crm_core.view_lead"),
    ("Segments", "segments:list", "segments.view_segment"),
    ("Journeys", "journeys:list", "journeys.view_journey"),
    ("Emails", "journeys:email-list", "journeys.view_emailtemplate"),
    ("Scoring", "leadscoring:model-list", "leadscoring.view_scoringmodel"),
    ("Landing pages", "landing:editor-list", "landing.view_landingpage"),
    ("Identity review", "workspace:identity-review", "crm_core.change_lead"),
    ("Imports", "workspace:import-list", "crm_core.add_contact"),
    ("Custom fields", "workspace:custom-field-list", "crm_core.change_customfield"),
)
SALES_NAV = (
    ("My leads", "workspace:lead-queue", "crm_core.view_lead"),
    ("Leads", "workspace:lead-list", "crm_core.view_lead"),
    ("Contacts", "workspace:contact-list", "crm_core.view_contact"),
    ("Accounts", "workspace:account-list", "crm_core.view_account"),
    ("Opportunities", "workspace:opportunity-list", "crm_core.view_opportunity"),
)


def navigation_items(user) -> list[tuple[str, str]]:
    """(label, url) of the menu for `user`: marketers' pages, sales reps' pages, or both."""
    if not user.is_authenticated:
        return []
    roles = user_roles(user)
    entries = []
    if roles & {MARKETING, ADMIN}:
        entries += MARKETING_NAV
    if roles & {SALES, ADMIN}:
        entries += SALES_NAV
    items, seen = [], set()
    for label, name, perm in entries:
        if name in seen or not user.has_perm(perm):
            continue
        seen.add(name)
        items.append((label, reverse(name)))
    return items


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    path = request.path
    entries = navigation_items(user)
    # The longest link the path starts with is the current one (/leads/queue/ is "My leads", not "Leads").
    matches = [url for _, url in entries if path == url or (url != "/" and path.startswith(url))]
    current = max(matches, key=len, default=None)
    items = [{"label": label, "url": url, "active": url == current} for label, url in entries]
    return {"nav_items": items, "is_staff_user": user.is_staff}
