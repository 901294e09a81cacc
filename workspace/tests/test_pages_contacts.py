"""The web UI's contact list (sales and marketing views) and the 360-degree contact page."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from crm_core.models import ContactOrigin, JobRole, SubscriptionStatus
from crm_core.tests.factories import (
    AccountFactory,
    ContactFactory,
    EventFactory,
    EventRegistrationFactory,
    InteractionFactory,
    LeadFactory,
    OpportunityFactory,
    SubscriptionListFactory,
    UserFactory,
)
from journeys.models import Enrollment
from journeys.tests.factories import SegmentMemberFactory, make_journey, send_email_step

pytestmark = pytest.mark.django_db
LIST = reverse("workspace:contact-list")


def listed_ids(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-contact-id="(\d+)"', response.content.decode())]


def next_link(response) -> str | None:
    match = re.search(r'href="([^"]+)" data-testid="next-page"', response.content.decode())
    return match and match.group(1).replace("&amp;", "&")


@pytest.fixture
def rep_client(client, sales_rep):
    client.force_login(sales_rep)
    return client


@pytest.fixture
def marketer_page_client(client, marketer):
    client.force_login(marketer)
    return client


def test_a_sales_rep_sees_the_sales_view_without_marketing_only_contacts(rep_client):
    sales_contact = ContactFactory(marketing_only=False)
    made_for_orphan = ContactFactory(marketing_only=True, origin=ContactOrigin.ORPHAN_LEAD_WORKFLOW)
    response = rep_client.get(LIST)
    assert response.status_code == 200
    assert listed_ids(response) == [sales_contact.pk]
    assert b"Sales view" in response.content
    # The rep can still ask for every contact.
    response = rep_client.get(LIST, {"view": "marketing"})
    assert listed_ids(response) == [made_for_orphan.pk, sales_contact.pk]
    assert b"from orphan lead" in response.content and b"marketing-only" in response.content


def test_a_marketer_sees_every_contact_by_default_and_can_narrow_to_the_sales_view(marketer_page_client):
    sales_contact = ContactFactory(marketing_only=False)
    marketing_contact = ContactFactory(marketing_only=True)
    assert listed_ids(marketer_page_client.get(LIST)) == [marketing_contact.pk, sales_contact.pk]
    assert listed_ids(marketer_page_client.get(LIST, {"view": "sales"})) == [sales_contact.pk]


def test_each_filter_narrows_the_list(marketer_page_client, marketer):
    acme = AccountFactory(name="Acme Robotics")
    decision_maker = ContactFactory(
        job_role=JobRole.DECISION_MAKER, country="France", parent_account=acme, last_name="Qzimmerxy"
    )
    mine = ContactFactory(owner=marketer, email="mine@example.org")
    with_ready_lead = ContactFactory()
    LeadFactory(parent_contact=with_ready_lead, sales_ready=True)
    LeadFactory(parent_contact=decision_maker)
    plain = ContactFactory()
    cases = {
        "job_role": (JobRole.DECISION_MAKER, [decision_maker]),
        "country": ("France", [decision_maker]),
        "account": (str(acme.pk), [decision_maker]),
        "owner": ("me", [mine]),
        "sales_ready": ("on", [with_ready_lead]),
        "q": ("qzimm", [decision_maker]),
    }
    for name, (value, expected) in cases.items():
        assert listed_ids(marketer_page_client.get(LIST, {name: value})) == [c.pk for c in expected], name
    assert listed_ids(marketer_page_client.get(LIST, {"account": "robot"})) == [decision_maker.pk]
    assert listed_ids(marketer_page_client.get(LIST, {"q": "MINE@"})) == [mine.pk]
    assert listed_ids(marketer_page_client.get(LIST, {"has_leads": "yes"})) == [
        with_ready_lead.pk,
        decision_maker.pk,
    ]
    assert set(listed_ids(marketer_page_client.get(LIST, {"has_leads": "no"}))) == {mine.pk, plain.pk}
    owners = marketer_page_client.get(LIST, {"owner": "none"})
    assert mine.pk not in listed_ids(owners) and plain.pk in listed_ids(owners)


def test_pages_follow_the_sort_key_to_the_end_and_back(marketer_page_client):
    contacts = [ContactFactory(last_name=f"Name{n % 7}") for n in range(120)]
    expected = [c.pk for c in sorted(contacts, key=lambda c: (c.last_name, c.pk))]
    seen, url, pages = [], f"{LIST}?ordering=last_name", 0
    while url:
        response = marketer_page_client.get(url if url.startswith("/") else LIST + url)
        assert response.status_code == 200
        seen += listed_ids(response)
        url, pages = next_link(response), pages + 1
    assert seen == expected and pages == 3
    previous = re.search(r'href="([^"]+)" data-testid="previous-page"', response.content.decode())
    back = marketer_page_client.get(LIST + previous.group(1).replace("&amp;", "&"))
    assert listed_ids(back) == expected[50:100]


@pytest.mark.parametrize(
    "query, message",
    [
        ({"job_role": "astronaut"}, b"Select a valid choice"),
        ({"ordering": "email"}, b"Select a valid choice"),
        ({"view": "everyone"}, b"Select a valid choice"),
        ({"owner": "12345678"}, b"Select a valid choice"),
        ({"cursor": "not-a-cursor"}, b"out of date"),
        ({"q": "x" * 101}, b"at most 100 characters"),
    ],
)
def test_bad_query_strings_get_a_400_that_says_what_was_wrong(marketer_page_client, query, message):
    response = marketer_page_client.get(LIST, query)
    assert response.status_code == 400
    assert message in response.content


def test_a_cursor_made_for_another_ordering_is_refused(marketer_page_client):
    ContactFactory.create_batch(55)
    cursor_link = next_link(marketer_page_client.get(LIST, {"ordering": "last_name"}))
    cursor = re.search(r"cursor=([^&]+)", cursor_link).group(1)
    response = marketer_page_client.get(LIST, {"ordering": "-id", "cursor": cursor})
    assert response.status_code == 400


def test_the_contact_list_runs_the_same_few_queries_whatever_the_data_size(marketer_page_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_for_page() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = marketer_page_client.get(LIST, {"has_leads": "yes", "ordering": "last_name"})
        assert response.status_code == 200
        return len(captured), len(listed_ids(response))

    for _ in range(3):
        LeadFactory(parent_contact=ContactFactory(parent_account=AccountFactory(), owner=UserFactory()))
    small, rows = queries_for_page()
    assert rows == 3
    for _ in range(60):
        contact = ContactFactory(parent_account=AccountFactory(), owner=UserFactory())
        LeadFactory.create_batch(2, parent_contact=contact, sales_ready=True)
    large, rows = queries_for_page()
    assert rows == 50
    assert small == large
    # session, user, user and group permissions, owner choices, roles, saved views, the page, the estimate
    assert large == 9


@pytest.fixture
def full_contact(marketer):
    account = AccountFactory(name="Contoso Ltd")
    contact = ContactFactory(first_name="Ada", last_name="Lovelace", parent_account=account)
    LeadFactory(parent_contact=contact, topic="Contoso Ltd Conference", score=45, grade="B")
    OpportunityFactory(contact=contact, name="Contoso renewal")
    InteractionFactory(contact=contact, properties={"email": "Spring newsletter"})
    newsletter = SubscriptionListFactory(name="Product news")
    contact.subscriptions.create(
        subscription_list=newsletter, status=SubscriptionStatus.SUBSCRIBED, subscribed_at=timezone.now()
    )
    EventRegistrationFactory(contact=contact, event=EventFactory(name="Contoso Summit"), attended=True)
    SegmentMemberFactory(contact=contact, segment_id=77)
    journey = make_journey(name="Welcome series", steps=[send_email_step()], created_by=marketer)
    now = timezone.now()
    Enrollment.objects.create(
        journey=journey,
        contact=contact,
        current_step=journey.steps.first(),
        entered_at=now,
        step_started_at=now,
    )
    return contact


def test_the_contact_page_shows_every_side_of_the_contact(marketer_page_client, full_contact):
    response = marketer_page_client.get(reverse("workspace:contact-detail", args=[full_contact.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    for text in (
        "Ada Lovelace",
        "Contoso Ltd",
        "Contoso Ltd Conference",
        "Contoso renewal",
        "Product news",
        "Segment 77",
        "Welcome series",
        "Consent level",
        "Contoso Summit",
    ):
        assert text in page, text
    assert reverse("workspace:lead-score", args=[full_contact.leads.get().pk]) in page
    # The interactions are on the timeline, which the page loads as a fragment.
    timeline = reverse("sales:timeline", args=["contact", full_contact.pk])
    assert timeline in page
    assert "Spring newsletter" in marketer_page_client.get(timeline).content.decode()


def test_the_contact_page_runs_the_same_queries_with_one_lead_or_twenty(marketer_page_client, full_contact):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = reverse("workspace:contact-detail", args=[full_contact.pk])

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert marketer_page_client.get(url).status_code == 200
        return len(captured)

    small = queries()
    LeadFactory.create_batch(19, parent_contact=full_contact, owner=UserFactory())
    InteractionFactory.create_batch(80, contact=full_contact)
    OpportunityFactory.create_batch(5, contact=full_contact, owner=UserFactory())
    EventRegistrationFactory.create_batch(6, contact=full_contact)
    for segment_id in range(80, 85):
        SegmentMemberFactory(contact=full_contact, segment_id=segment_id)
    assert queries() == small
    # session, user, permissions, roles and the page's own: the contact, one query per section and
    # the custom field definitions (the event registrations are one of the sections)
    assert small <= 15


def test_the_events_panel_lists_the_contacts_registrations_newest_event_first(marketer_page_client):
    contact, other = ContactFactory(), ContactFactory()
    at = timezone.make_aware(timezone.datetime(2027, 5, 4, 9, 30))
    EventRegistrationFactory(
        contact=contact,
        event=EventFactory(name="Spring Summit", starts_at=at, location="Lyon"),
        registered_at=at - timezone.timedelta(days=10),
        attended=True,
    )
    EventRegistrationFactory(
        contact=contact, event=EventFactory(name="Winter Meetup", starts_at=at - timezone.timedelta(days=90))
    )
    EventRegistrationFactory(contact=other, event=EventFactory(name="Not Theirs"))
    page = marketer_page_client.get(reverse("workspace:contact-detail", args=[contact.pk])).content.decode()
    panel = page[page.index('data-testid="contact-events"') :]
    panel = panel[: panel.index("</article>")]
    assert "Events (2)" in panel and "Not Theirs" not in panel
    assert panel.index("Spring Summit") < panel.index("Winter Meetup")
    summit_row = panel[panel.index("Spring Summit") : panel.index("Winter Meetup")]
    local = timezone.localtime(at)
    # The date and the time apart (the date never breaks inside a narrow column).
    assert f"{local.strftime('%Y-%m-%d')}</time> {local.strftime('%H:%M')}" in summit_row
    assert "Lyon" in summit_row
    assert timezone.localtime(at - timezone.timedelta(days=10)).strftime("%Y-%m-%d") in summit_row
    assert "badge-ok" in summit_row
    assert "badge-ok" not in panel[panel.index("Winter Meetup") :]


def test_a_contact_without_registrations_says_so(marketer_page_client):
    contact = ContactFactory()
    page = marketer_page_client.get(reverse("workspace:contact-detail", args=[contact.pk])).content.decode()
    assert "No event registrations." in page


def test_an_unknown_contact_is_a_404(marketer_page_client):
    assert marketer_page_client.get(reverse("workspace:contact-detail", args=[999_999])).status_code == 404


def test_contact_pages_need_a_login_and_a_role(client):
    contact = ContactFactory()
    for url in (LIST, reverse("workspace:contact-detail", args=[contact.pk])):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    client.force_login(UserFactory())  # no role: no permissions
    assert client.get(LIST).status_code == 403


def test_a_sales_rep_may_open_a_contact_page(rep_client):
    contact = ContactFactory(marketing_only=True)
    response = rep_client.get(reverse("workspace:contact-detail", args=[contact.pk]))
    assert response.status_code == 200 and b"marketing-only" in response.content


@pytest.mark.parametrize(
    "ordering, position, status, rows",
    [
        ("last_name", ("Smith\x00", "1"), 400, 0),  # no database text holds a NUL
        ("-id", ("twelve",), 400, 0),
        ("id", ("99999999999999999999999999",), 200, 0),  # after any id
        ("-id", ("99999999999999999999999999",), 200, 1),  # before any id: every contact follows
    ],
)
def test_forged_cursors_are_a_400_or_a_page_never_a_500(
    marketer_page_client, ordering, position, status, rows
):
    from crm_core.keyset import Cursor, cursor_encode
    from workspace.forms import CONTACT_ORDERINGS

    ContactFactory()
    token = cursor_encode(Cursor(reverse=False, position=position, ordering=CONTACT_ORDERINGS[ordering][1]))
    response = marketer_page_client.get(LIST, {"ordering": ordering, "cursor": token})
    assert response.status_code == status
    assert len(listed_ids(response)) == rows
