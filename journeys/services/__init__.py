"""Writes of the journeys app: every other app, the API, the pages and the tasks call these.

- `definitions`: create and edit journeys with their steps; go live, pause, stop.
- `validation`: the problems of a step list and of entry and exit settings (shown per field).
- `email_templates`: save email templates (compiled and checked), preview one contact's copy, send a
  test copy.
- `tracking`: the open pixel and tracked links record interactions.
- The tick, a batch run and the outbox sweep's sender are the engine's (`journeys/engine/dispatch.py`,
  `runner.py`, `sending.py`), exported here for the tasks and the tests.
"""

from ..engine.dispatch import TickReport, journeys_tick
from ..engine.runner import enrollments_run
from ..engine.sending import send_outbox
from .definitions import journey_create, journey_go_live, journey_pause, journey_stop, journey_update
from .email_templates import (
    email_template_create,
    email_template_preview,
    email_template_test_send,
    email_template_update,
)
from .tracking import TrackingTokenInvalid, email_click_record, email_open_record
from .validation import validate_entry, validate_steps

__all__ = [
    "TickReport",
    "TrackingTokenInvalid",
    "email_click_record",
    "email_template_create",
    "email_template_preview",
    "email_template_test_send",
    "email_template_update",
    "email_open_record",
    "enrollments_run",
    "journey_create",
    "journey_go_live",
    "journey_pause",
    "journey_stop",
    "journey_update",
    "journeys_tick",
    "send_outbox",
    "validate_entry",
    "validate_steps",
]
