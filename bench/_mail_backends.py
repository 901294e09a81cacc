"""The email backend of the journeys benchmark (bench/journeys.py, set as its worker's EMAIL_BACKEND):
`CountingBackend` sends nothing and counts messages in Redis (`JOURNEYS_COUNTER_URL`, key
`JOURNEYS_COUNTER_KEY`), so the benchmark can see how many emails all worker processes handed to
"SMTP". It adds its count to Redis when the connection closes. (The leading underscore keeps it out
of `python -m bench`'s list of benchmarks.)"""

import os

import redis
from django.core.mail.backends.base import BaseEmailBackend

_client = None


class CountingBackend(BaseEmailBackend):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.count = 0

    def send_messages(self, email_messages):
        self.count += len(email_messages)
        return len(email_messages)

    def close(self):
        global _client
        if self.count:
            if _client is None:
                _client = redis.Redis.from_url(os.environ["JOURNEYS_COUNTER_URL"])
            _client.incrby(os.environ.get("JOURNEYS_COUNTER_KEY", "journeys:sent"), self.count)
            self.count = 0
