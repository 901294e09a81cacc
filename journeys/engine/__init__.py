"""The journey engine: entering contacts, exits, handing due enrollments to workers, running steps
and sending the outbox. Each module is one of those jobs; where PostgreSQL runs its own statements
they are in a `*_sql.py` module beside a `*_portable.py` one (the embedded SQLite default's ORM
path), and the job's module picks one with `crm_core.sqlpath.postgres_sql()`.

- `dispatch` (`_sql`, `_portable`): the tick: exits and entry per live journey, leasing due
  enrollments, handing them to workers in batches, the outbox sweep.
- `entry`: who enters a live journey now (its segment or trigger since the cursor), in one
  INSERT ... SELECT.
- `exits`: who leaves early (sales-ready, suppressed, exit condition): set-based for the tick, per
  batch for a worker.
- `runner` (`_sql`, `_portable`): running one batch: lock, run the steps round by round, write the
  executions, outbox rows and new states; then send the batch's emails.
- `batch`: what a batch holds and a step handler sees and returns (`Due`, `Batch`, `Outcome`).
- `steps/`: one handler module per step kind (`steps/email.py` is the send-email step, and tells
  how its email reaches the contact); `steps/__init__.py` maps each kind to its handler.
- `outbox` (`_sql`, `_portable`): the outbox rows: queueing, claiming under a sender's claim,
  finishing claims (sent, or back to pending), the claims of dead senders.
- `sending` (`_sql`, `_portable`): sending claimed rows: consent again, render, one backend
  connection, a durable mark per email.
- `messages`: a step's template prepared once and rendered per contact into an email message.
- `conf`: the JOURNEYS_* settings with their defaults.

Exactly-once, in short (docs/architecture.md has the long form):
- A worker runs a batch of enrollments in ONE transaction holding their row locks
  (`SELECT ... FOR UPDATE SKIP LOCKED`, re-checking that each is still due). Every step it runs
  writes a `StepExecution` (unique per enrollment and `seq`), its database side effects (lead, task,
  field, list, outbox row) and the enrollment's new state in that same transaction. A crash rolls
  all of it back; a retried task or an overlapping tick finds the rows locked or no longer due.
- Email leaves the machine only from the outbox, after that commit. A sender claims rows
  (pending -> sending) under a claim id whose PostgreSQL advisory lock it holds for the whole batch,
  and marks each row sent in its own commit right after the SMTP call returns. When a sender dies,
  its connection drops, the advisory lock frees, and the next tick puts its unsent rows back to
  pending. The one window left: SMTP accepted a message and the process died before the "sent"
  commit (microseconds); that message is sent again with the same Message-ID, so it is at-least-once
  there and exactly-once everywhere else.
"""
