"""The workspace's pages over CRM records (the REST API is under /api/, see crm_core/api/).

The home redirect (`/`, name `home`) is wired by config/web_urls.py; the login by config/urls.py.
"""

from django.urls import path

from .views import (
    accounts,
    contacts,
    custom_fields,
    dashboard,
    events,
    identity,
    imports,
    lead_list,
    leads,
    merges,
    opportunities,
    records,
    saved_views,
)

app_name = "workspace"

edit = records.record_edit  # with {"entity": ...}: one view creates and edits every kind of record


urlpatterns = [
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("contacts/", contacts.contact_list_page, name="contact-list"),
    path("contacts/new/", edit, {"entity": "contact"}, name="contact-create"),
    path("contacts/duplicates/", merges.duplicate_list_page, name="duplicate-list"),
    path("contacts/duplicates/scan/", merges.duplicate_scan_now, name="duplicate-scan"),
    path("contacts/duplicates/scan/status/", merges.duplicate_scan_status, name="duplicate-scan-status"),
    path(
        "contacts/duplicates/<int:a>/<int:b>/dismiss/",
        merges.duplicate_dismiss_pair,
        name="duplicate-dismiss",
    ),
    path("contacts/merge/<int:a>/<int:b>/", merges.contact_merge_page, name="contact-merge"),
    path("contacts/merge/<int:a>/<int:b>/confirm/", merges.contact_merge, name="contact-merge-confirm"),
    path("contacts/<int:pk>/", contacts.contact_detail_page, name="contact-detail"),
    path("contacts/<int:pk>/duplicates/", merges.contact_duplicates_partial, name="contact-duplicates"),
    path("contacts/<int:pk>/edit/", edit, {"entity": "contact"}, name="contact-edit"),
    path("accounts/", accounts.account_list_page, name="account-list"),
    path("accounts/new/", edit, {"entity": "account"}, name="account-create"),
    path("accounts/<int:pk>/", accounts.account_detail_page, name="account-detail"),
    path("accounts/<int:pk>/edit/", edit, {"entity": "account"}, name="account-edit"),
    path("leads/", lead_list.lead_list_page, name="lead-list"),
    path("leads/export.csv", lead_list.lead_list_export, name="lead-export"),
    path("leads/new/", edit, {"entity": "lead"}, name="lead-create"),
    path("leads/queue/", leads.lead_queue_page, name="lead-queue"),
    path("leads/identity-review/", identity.identity_review_page, name="identity-review"),
    path("leads/identity-review/<int:pk>/link/", identity.identity_link, name="identity-link"),
    path("leads/identity-review/<int:pk>/dismiss/", identity.identity_dismiss, name="identity-dismiss"),
    path("leads/<int:pk>/", leads.lead_detail_page, name="lead-detail"),
    path("leads/<int:pk>/edit/", edit, {"entity": "lead"}, name="lead-edit"),
    path("leads/<int:pk>/score/", leads.lead_score_partial, name="lead-score"),
    path("leads/<int:pk>/<str:action>/", leads.lead_action, name="lead-action"),
    path("events/", events.event_list_page, name="event-list"),
    path("events/new/", events.event_edit, name="event-create"),
    path("events/<int:pk>/", events.event_detail_page, name="event-detail"),
    path("events/<int:pk>/edit/", events.event_edit, name="event-edit"),
    path(
        "events/<int:pk>/registrations/<int:registration_pk>/attend/",
        events.registration_attend,
        name="event-registration-attend",
    ),
    path("imports/", imports.import_list_page, name="import-list"),
    path("imports/<int:pk>/", imports.import_detail_page, name="import-detail"),
    path("imports/<int:pk>/mapping/", imports.import_mapping, name="import-mapping"),
    path("imports/<int:pk>/run/", imports.import_run, name="import-run"),
    path("imports/<int:pk>/progress/", imports.import_progress_partial, name="import-progress"),
    path("imports/<int:pk>/report/", imports.import_report, name="import-report"),
    path("opportunities/", opportunities.opportunity_list_page, name="opportunity-list"),
    path("opportunities/new/", edit, {"entity": "opportunity"}, name="opportunity-create"),
    path("opportunities/<int:pk>/", opportunities.opportunity_detail_page, name="opportunity-detail"),
    path("opportunities/<int:pk>/edit/", edit, {"entity": "opportunity"}, name="opportunity-edit"),
    path("views/<str:entity>/save/", saved_views.saved_view_save, name="saved-view-save"),
    path("views/<int:pk>/delete/", saved_views.saved_view_delete, name="saved-view-delete"),
    path("custom-fields/", custom_fields.custom_field_list_page, name="custom-field-list"),
    path("custom-fields/<int:pk>/label/", custom_fields.custom_field_label, name="custom-field-label"),
    path(
        "custom-fields/<int:pk>/delete/", custom_fields.custom_field_delete_view, name="custom-field-delete"
    ),
]
