"""Email backends for load work: `CountingBackend` sends nothing and counts messages in Redis
(`JOURNEYS_COUNTER_URL`, key `JOURNEYS_COUNTER_KEY`), so a benchmark can see how many emails
all worker processes handed to "SMTP"."""

import os

import redis
from django.core.mail.backends.base import BaseEmailBackend

_client = None


class CountingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        global _client
        if _client is None:
            _client = redis.Redis.from_url(os.environ["JOURNEYS_COUNTER_URL"])
        for message in email_messages:
            message.message()  # build the MIME message as SMTP would
        _client.incrby(os.environ.get("JOURNEYS_COUNTER_KEY", "journeys:sent"), len(email_messages))
        return len(email_messages)
