"""Lead lifecycle actions and the bulk import, mixed into the lead viewset.

(accept, qualify, disqualify, return-to-marketing, bulk): filled in by the
lead-lifecycle work; the viewset in views.py inherits this mixin.
"""


class LeadLifecycleActionsMixin:
    pass
