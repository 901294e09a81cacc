"""An email backend for tests with real workers: every delivered message becomes one file in
$JOURNEYS_TEST_MAILBOX, so counts survive the worker process. Stands in for SMTP only.

$JOURNEYS_TEST_MAIL_HANG_AFTER=N makes each process, after delivering N messages, write a
`hang-<pid>` marker and block inside the next send *before* delivering it: the moment the fault
test kills the worker (an SMTP call in flight)."""

import json
import os
import time
import uuid
from pathlib import Path

from django.core.mail.backends.base import BaseEmailBackend

_delivered_here = 0


class RecordingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        global _delivered_here
        box = Path(os.environ["JOURNEYS_TEST_MAILBOX"])
        hang_after = os.environ.get("JOURNEYS_TEST_MAIL_HANG_AFTER")
        for message in email_messages:
            if hang_after is not None and _delivered_here >= int(hang_after):
                (box / f"hang-{os.getpid()}").write_text(message.extra_headers.get("X-Nurture-Outbox", ""))
                while True:
                    time.sleep(1)
            html = next((content for content, mime in message.alternatives if mime == "text/html"), "")
            record = {
                "to": message.to,
                "subject": message.subject,
                "outbox": message.extra_headers.get("X-Nurture-Outbox"),
                "message_id": message.extra_headers.get("Message-ID"),
                "html": html,
                "text": message.body,
            }
            path = box / f"mail-{uuid.uuid4().hex}.json"
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(record))
            tmp.rename(path)
            _delivered_here += 1
        return len(email_messages)


def delivered(box: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(box.glob("mail-*.json"))]
