"""A form post while the database drops connections is kept: retried, else spooled and stored later."""

from contextlib import contextmanager

import psycopg
import pytest
from django.db import connection
from django.test import Client

from conftest import _database_url
from landing.models import FormSubmission, SubmissionStatus
from landing.services import spool_drain, submission_process
from landing.tests.factories import LandingPageFactory
from landing.tests.utils import submit

pytestmark = pytest.mark.django_db(transaction=True)

INSERT = 'INSERT INTO "landing_formsubmission"'


def _kill_own_connection() -> None:
    """Terminate this thread's database session from another one, as a failover or an admin would."""
    pid = connection.connection.info.backend_pid
    with psycopg.connect(_database_url(connection.settings_dict), autocommit=True) as side:
        side.execute("SELECT pg_terminate_backend(%s)", [pid])


@contextmanager
def killing_stores(times: int):
    """Kill the connection right before each of the next `times` stores of a form post."""
    left = [times]

    def wrapper(execute, sql, params, many, context):
        if left[0] and sql.startswith(INSERT):
            left[0] -= 1
            _kill_own_connection()
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield left


@pytest.fixture
def outage(settings, tmp_path):
    settings.LANDING_STORE_RETRY_SECONDS = 0.5
    settings.LANDING_SPOOL_DIR = str(tmp_path / "spool")
    return tmp_path / "spool"


def test_a_dropped_connection_is_retried_and_the_post_processed(outage):
    page = LandingPageFactory()
    with killing_stores(1) as left:
        response = submit(Client(), page, ip="10.5.0.1", email="ada@example.com", last_name="L")
    assert left == [0]  # the connection really was killed once
    assert response.status_code == 200 and page.thank_you_message in response.content.decode()
    assert FormSubmission.objects.get().status == SubmissionStatus.PROCESSED


def test_a_post_during_an_outage_is_spooled_and_stored_once_when_the_database_answers(outage):
    page = LandingPageFactory()
    with killing_stores(1000):
        response = submit(Client(), page, ip="10.5.0.2", email="grace@example.com", last_name="H")
    assert response.status_code == 202 and page.thank_you_message in response.content.decode()
    assert not FormSubmission.objects.exists() and len(list(outage.glob("*.json"))) == 1

    assert spool_drain() == 1
    assert spool_drain() == 0 and not list(outage.glob("*.json"))
    submission = FormSubmission.objects.get()
    assert submission.payload["email"] == "grace@example.com"
    assert submission_process(submission_id=submission.pk).status == SubmissionStatus.PROCESSED


def test_the_form_comes_back_with_the_answers_only_when_the_post_could_not_be_kept(outage):
    outage.parent.joinpath("blocked").write_text("a file, not a directory")
    from django.conf import settings

    settings.LANDING_SPOOL_DIR = str(outage.parent / "blocked" / "spool")
    page = LandingPageFactory()
    with killing_stores(1000):
        response = submit(Client(), page, ip="10.5.0.3", email="kept@example.com", last_name="Typed")
    html = response.content.decode()
    assert response.status_code == 503 and response["Retry-After"] == "60"
    assert "send the form again" in html and 'value="Typed"' in html
    assert not FormSubmission.objects.exists()
