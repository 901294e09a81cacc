"""Form posts kept on local disk while the database cannot take them, stored when it answers again.

`submission_store` commits the raw post before anything else; when PostgreSQL is unreachable (a
restart, a failover, connections being killed) that commit fails. The view retries it briefly
(`with_database_retry`); if the database still refuses, the post is written here: one JSON file per post
under LANDING_SPOOL_DIR, written to a temporary name and renamed, so a reader never sees half a file.
`landing.services.spool_drain` (after every stored post in the web process, and the worker's beat
task) reads them back with `spooled_posts`, stores each with its original time and queues its
processing; a post already stored (a crash between storing and removing the file) is recognised by
its spool id and not stored twice. This module only keeps and reads the files: it knows nothing of
the services that store them.
Files live on the web host that took the post, so each web host drains its own directory (put it on
shared storage to let the worker drain them too).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

logger = logging.getLogger(__name__)

SPOOL_ID = "_spool_id"


class NotKept(Exception):
    """Neither the database nor the spool took the post: the visitor must send it again."""


def _spool_dir() -> Path:
    return Path(settings.LANDING_SPOOL_DIR)


def spool_put(record: dict) -> str:
    """Write one post to the spool; its spool id. Raises NotKept when the disk refuses it."""
    spool_id = uuid.uuid4().hex
    try:
        directory = _spool_dir()
        directory.mkdir(parents=True, exist_ok=True)
        temporary = directory / f".{spool_id}.tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump({**record, SPOOL_ID: spool_id}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.rename(directory / f"{spool_id}.json")
    except OSError as error:
        raise NotKept(str(error)) from error
    return spool_id


def _reset_connection() -> None:
    """Drop a connection the database killed, so the next attempt opens a new one."""
    with contextlib.suppress(DatabaseError):
        connection.close()


def with_database_retry(work):
    """`work()`, tried again after a dropped connection for up to LANDING_STORE_RETRY_SECONDS."""
    deadline = time.monotonic() + settings.LANDING_STORE_RETRY_SECONDS
    pause = 0.05
    while True:
        try:
            return work()
        except DatabaseError:
            if connection.in_atomic_block or time.monotonic() + pause > deadline:
                raise
            logger.warning("the database refused a form post; trying again", exc_info=True)
            _reset_connection()
            time.sleep(pause)  # a back-off between attempts, not a wait for a condition
            pause = min(pause * 2, 1.0)


def spooled_posts(*, limit: int = 500) -> Iterator[tuple[Path, dict]]:
    """(file, post) of up to `limit` spooled posts, oldest first, read one at a time (the caller
    stores each and then removes its file). An unreadable file is logged and left where it is."""
    directory = _spool_dir()
    if not directory.is_dir():
        return
    for path in sorted(directory.glob("*.json"), key=lambda p: p.stat().st_mtime)[:limit]:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            logger.exception("unreadable spooled form post %s; left for a person to look at", path)
            continue
        record["received_at"] = parse_datetime(record["received_at"]) or timezone.now()
        yield path, record


def spooled_post_remove(path: Path) -> None:
    """The post in `path` is stored: its file goes."""
    path.unlink(missing_ok=True)
