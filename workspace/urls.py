"""The workspace's pages over CRM records (the REST API is under /api/, see crm_core/api/).

The home redirect (`/`, name `home`) is wired by config/web_urls.py; the login by config/urls.py.
"""

from django.urls import path

from .views import accounts, contacts, custom_fields, dashboard, identity, leads, opportunities

app_name = "workspace"

urlpatterns = [
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("contacts/", contacts.contact_list_page, name="contact-list"),
    path("contacts/<int:pk>/", contacts.contact_detail_page, name="contact-detail"),
    path("accounts/", accounts.account_list_page, name="account-list"),
    path("accounts/<int:pk>/", accounts.account_detail_page, name="account-detail"),
    path("leads/queue/", leads.lead_queue_page, name="lead-queue"),
    path("leads/identity-review/", identity.identity_review_page, name="identity-review"),
    path("leads/identity-review/<int:pk>/link/", identity.identity_link, name="identity-link"),
    path("leads/identity-review/<int:pk>/dismiss/", identity.identity_dismiss, name="identity-dismiss"),
    path("leads/<int:pk>/", leads.lead_detail_page, name="lead-detail"),
    path("leads/<int:pk>/score/", leads.lead_score_partial, name="lead-score"),
    path("leads/<int:pk>/<str:action>/", leads.lead_action, name="lead-action"),
    path("opportunities/", opportunities.opportunity_list_page, name="opportunity-list"),
    path("custom-fields/", custom_fields.custom_field_list_page, name="custom-field-list"),
    path("custom-fields/<int:pk>/label/", custom_fields.custom_field_label, name="custom-field-label"),
    path(
        "custom-fields/<int:pk>/delete/", custom_fields.custom_field_delete_view, name="custom-field-delete"
    ),
]
