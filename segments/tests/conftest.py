"""Fixtures of the segments tests: live segments kept current through real commits, Redis and PostgreSQL."""

import uuid

import pytest

from segments import pending


def segment_keys_clear() -> None:
    """Forget every pending-work key of this test session (segments of earlier tests are gone)."""
    client = pending.redis_client()
    for key in client.scan_iter(match=pending._key("*"), count=1000):
        client.delete(key)
    from django.core.cache import cache

    cache.delete(pending.SCHEDULED_KEY)


@pytest.fixture
def freshness(transactional_db):
    """Changes commit for real (their notices run), and scheduled runs go to a queue no worker reads:
    the test runs `segments_refresh_pending()` itself when it wants the work done."""
    from config.celery_app import app
    from segments.live import live_index

    queue = f"test-segments-{uuid.uuid4().hex[:8]}"
    previous, app.conf.task_default_queue = app.conf.task_default_queue, queue
    segment_keys_clear()
    live_index(fresh=True)
    try:
        yield queue
    finally:
        app.conf.task_default_queue = previous
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)
        segment_keys_clear()
