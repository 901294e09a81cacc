"""A request that loses a real deadlock answers 503 with Retry-After and saves nothing, in the API
and in the app; sent again, it passes. The deadlock is PostgreSQL's own: another connection holds
one of the merged contacts and then asks for the other, which the merge already holds."""

import threading

import pytest
from django.db import connection, transaction
from django.test import Client

from conftest import wait_until
from crm_core.models import Contact, MergedContact
from crm_core.tests.factories import ContactFactory, MarketerFactory

WAIT_S = 60


def _merge_waiting_on_a_row_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
            "AND datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def _hold_then_cross(first_locked: int, then: int, holding: threading.Event, errors: list) -> None:
    """Lock contact `first_locked`; once the merge waits for it, ask for `then` (the merge holds it)."""
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL deadlock_timeout = '60s'")  # the merge is the one to notice
            Contact.objects.select_for_update().get(pk=first_locked)
            holding.set()
            wait_until(_merge_waiting_on_a_row_lock, timeout=WAIT_S)
            Contact.objects.select_for_update().get(pk=then)  # closes the circle
    except Exception as error:  # reported to the test
        errors.append(error)
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("via", ["api", "app"])
def test_a_merge_that_loses_a_deadlock_answers_503_and_saves_nothing(via, caplog):
    if connection.vendor != "postgresql":
        pytest.fail("this test needs PostgreSQL's deadlock detection")
    low, high = ContactFactory(email="low@example.com"), ContactFactory(email="high@example.com")
    client = Client()
    client.force_login(MarketerFactory(username="merger"))

    def merge():
        if via == "api":
            return client.post(
                f"/api/contacts/{low.pk}/merge/", {"other": high.pk}, content_type="application/json"
            )
        return client.post(
            f"/contacts/merge/{low.pk}/{high.pk}/confirm/", {"survivor": low.pk, "other": high.pk}
        )

    holding, errors = threading.Event(), []
    other = threading.Thread(target=_hold_then_cross, args=(high.pk, low.pk, holding, errors))
    other.start()
    assert holding.wait(WAIT_S)
    response = merge()
    other.join(WAIT_S)
    assert not other.is_alive() and not errors, (errors, response.status_code, response.content[:300])

    assert response.status_code == 503 and response["Retry-After"] == "2"
    assert "merge" in caplog.text and "answered 503: deadlock detected" in caplog.text  # logged for operators
    body = response.json()["detail"] if via == "api" else response.content.decode()
    assert "nothing of it was saved" in body
    if via == "app":
        assert 'data-testid="error-page"' in body and 'data-testid="nav"' in body  # inside the shell
    assert set(Contact.objects.filter(pk__in=[low.pk, high.pk]).values_list("pk", flat=True)) == {
        low.pk,
        high.pk,
    }
    assert not MergedContact.objects.exists()

    again = merge()
    assert again.status_code == (200 if via == "api" else 302)
    assert list(Contact.objects.filter(pk__in=[low.pk, high.pk]).values_list("pk", flat=True)) == [low.pk]
