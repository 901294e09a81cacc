"""The development email backend: each message is one .eml file, each send one log line.

The default with DEBUG on and on the embedded default (config/settings.py). Open a file in a mail
client or read it as text; the log line says where it is, who it is for and its subject, so the
request log stays readable however many emails a journey sends.
"""

import logging
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend

logger = logging.getLogger("nurture.mail")


class DevFileEmailBackend(BaseEmailBackend):
    def __init__(self, *args, file_path=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.directory = Path(file_path or settings.EMAIL_FILE_PATH)

    def send_messages(self, email_messages) -> int:
        if not email_messages:
            return 0
        self.directory.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
            path = self.directory / f"{stamp}-{uuid.uuid4().hex[:12]}.eml"
            partial = path.with_suffix(".tmp")
            partial.write_bytes(message.message().as_bytes(linesep="\n"))
            os.replace(partial, path)  # a reader never sees half a message
            logger.info("email saved to %s (to %s, subject %r)", path, ", ".join(message.to), message.subject)
            sent += 1
        return sent
