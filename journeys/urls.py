"""Public tracking endpoints and the journey designer pages."""

from django.urls import path

from . import email_views, views, views_designer

app_name = "journeys"

urlpatterns = [
    path("t/o/<str:token>.gif", views.open_pixel, name="open-pixel"),
    path("t/c/<str:token>/", views.tracked_click, name="tracked-click"),
    path("journeys/", views.journey_list_page, name="list"),
    path("journeys/<int:pk>/", views_designer.journey_designer_page, name="detail"),
    path("journeys/<int:pk>/steps/", views_designer.journey_step_save, name="step-save"),
    path("journeys/<int:pk>/steps/delete/", views_designer.journey_step_delete, name="step-delete"),
    path("journeys/<int:pk>/go-live/", views_designer.journey_go_live_page, name="go-live"),
    path("journeys/emails/", email_views.email_list_page, name="email-list"),
    path("journeys/emails/<int:pk>/", email_views.email_editor_page, name="email-editor"),
    path("journeys/emails/<int:pk>/preview/", email_views.email_preview_document, name="email-preview"),
    path("journeys/emails/contacts/", email_views.email_contact_search, name="email-contacts"),
]
