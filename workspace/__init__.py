"""The marketers' and reps' web workspace: the page shell, navigation and the pages over CRM records.

It composes the domain apps below it (crm_core, segments, leadscoring, sales, journeys) through their
services and selectors; it owns no tables.
"""
