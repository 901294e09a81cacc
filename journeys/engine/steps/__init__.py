"""One handler per step kind: `(step, members, batch) -> {enrollment id: Outcome}` (see
`engine/batch.py`). Each handler is set-based for its group: the members of one batch due at one
step. The runner (`engine/runner.py`) looks a step's handler up in `HANDLERS`."""

from ...models import StepKind
from .condition import if_condition
from .create_lead import create_lead
from .create_task import create_task
from .email import send_email
from .end import end
from .interaction import if_interaction
from .lists import list_add, list_remove
from .split import split
from .static_segments import segment_add, segment_remove
from .update_field import update_field
from .wait import wait_duration, wait_until

HANDLERS = {
    StepKind.SEND_EMAIL: send_email,
    StepKind.WAIT_DURATION: wait_duration,
    StepKind.WAIT_UNTIL: wait_until,
    StepKind.IF_CONDITION: if_condition,
    StepKind.IF_INTERACTION: if_interaction,
    StepKind.SPLIT: split,
    StepKind.CREATE_LEAD: create_lead,
    StepKind.UPDATE_FIELD: update_field,
    StepKind.LIST_ADD: list_add,
    StepKind.LIST_REMOVE: list_remove,
    StepKind.SEGMENT_ADD: segment_add,
    StepKind.SEGMENT_REMOVE: segment_remove,
    StepKind.CREATE_TASK: create_task,
    StepKind.END: end,
}
