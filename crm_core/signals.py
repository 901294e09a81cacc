"""Notifications other apps subscribe to.

`records_changed` is sent after set-based writes (bulk SQL) that model signals do not see, with
`entities`: the names of the record kinds touched ("contact", "lead", ...). Live segments use it to
stay fresh.
"""

from django.dispatch import Signal

records_changed = Signal()
