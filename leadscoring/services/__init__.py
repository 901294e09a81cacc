"""Lead scoring writes: recompute, explanation, the sales-ready hand-off, incremental rescoring, editing.

How a score is made (one model, one lead, as of `now`):

- Interaction rules score the lead's PARENT CONTACT's interactions (an orphan lead has none: 0 points
  from them). An interaction matches a rule when its kind is the rule's and each property filter that
  is set matches (url contains, case-insensitively; email, form and event equal, case-insensitively).
  Interactions after `now` do not count, nor those marked unscored (crm_core.signal_quality).
- Decay gives each interaction a weight from its age (decay.py).
- Cap: of the matching interactions that still carry weight, only the NEWEST `max_count` count
  (ordered by occurred_at, then id). So a capped rule counts the freshest activity.
- A rule's contribution is round(points * sum of weights) (half away from zero), a whole number,
  so the explanation's per-rule points add up exactly to the score.
- Condition rules give their points once if the lead matches the condition (leadscoring.conditions).
- score = sum of contributions; grade = the band the score falls in ('' if none);
  sales_ready = score >= the model's threshold.

The modules, by responsibility:

- `recompute.py`: `scoring_model_recompute` (the one place that picks the path, through
  `crm_core.sqlpath.postgres_sql()`) and the recompute in the worker; `outcome.py`: grades and counts.
- `sql.py`: the PostgreSQL statements (a handful whatever the number of leads, under a per-model
  advisory lock), built on `score_sql.py`: what every rule gives every contact in one scan of the
  interactions; `portable.py`: the same through the ORM for the embedded SQLite default.
- `handoff.py` (+ `handoff_sql.py`, `handoff_portable.py`): the sales-ready hand-off and the return
  to nurture; the apps above hear of it through `leadscoring.events.leads_handed_off`.
- `decay.py`: the daily decay run; `incremental.py`: the hooks for new interactions and new or newly
  linked leads, and the Redis pending set's drain; `explain.py`: why a lead has its score;
  `editing.py`: saving a model.

Lead scoring writes its own tables (scores, crossings) and nothing of crm_core's: the lead's copy of
score / grade / sales_ready, the hand-off's status and owner, the return to nurture and their
LeadStatusChange rows are written by `crm_core.services.scores`, which announces the changed leads
(`crm_core.events`) so live segments hear of them. On PostgreSQL it is handed SQL over the score
table or the hand-off's temp tables (`SqlRows`), so the statements stay set-based; the portable path
hands it the rows. Tasks are enqueued by name (`crm_core.tasking`), never by importing `tasks`.
"""

from .decay import scoring_models_recompute_live
from .editing import BAND_FIELDS, RULE_FIELDS, scoring_model_save
from .explain import lead_score_explain, leads_score_explain
from .incremental import (
    COALESCE_SECONDS,
    DRAIN_BATCH_SIZE,
    contacts_rescore,
    drain_scheduled_key,
    interactions_recorded,
    leads_linked,
    pending_contacts_drain,
    pending_contacts_key,
    redis_client,
)
from .outcome import RecomputeResult
from .recompute import scoring_model_recompute, scoring_model_schedule_recompute

__all__ = [
    "BAND_FIELDS",
    "COALESCE_SECONDS",
    "DRAIN_BATCH_SIZE",
    "RULE_FIELDS",
    "RecomputeResult",
    "contacts_rescore",
    "drain_scheduled_key",
    "interactions_recorded",
    "lead_score_explain",
    "leads_linked",
    "leads_score_explain",
    "pending_contacts_drain",
    "pending_contacts_key",
    "redis_client",
    "scoring_model_recompute",
    "scoring_model_save",
    "scoring_model_schedule_recompute",
    "scoring_models_recompute_live",
]
