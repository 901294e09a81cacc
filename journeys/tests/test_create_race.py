"""Two submits of one create form racing each other (two tabs, a double click) make one journey:
the unique create token decides, and the loser gets the winner's journey."""

import threading

import pytest
from django.db import connection

from ..models import Journey
from ..services import journey_create


@pytest.mark.django_db(transaction=True)
def test_two_racing_creates_with_one_token_make_one_journey():
    barrier = threading.Barrier(2)
    made: list[int] = []
    failures: list[BaseException] = []

    def submit():
        try:
            barrier.wait(timeout=30)
            journey = journey_create(
                data={"name": "Spring", "entry_segment_id": 1}, steps=[], create_token="form:race"
            )
            made.append(journey.pk)
        except BaseException as error:  # reported below: a thread's exception is otherwise lost
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert len(made) == 2 and made[0] == made[1]
    assert Journey.objects.filter(create_token="form:race").count() == 1
