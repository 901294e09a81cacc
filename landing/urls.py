from django.urls import path

from . import editor, views

app_name = "landing"

urlpatterns = [
    path("l/<slug:slug>/", views.LandingPageView.as_view(), name="page"),
    path("l/<slug:slug>/embed/", views.landing_page_embed, name="page-embed"),
    path("preferences/<str:token>/", views.PreferencesView.as_view(), name="preferences"),
    path(
        "preferences/<str:token>/unsubscribe/",
        views.OneClickUnsubscribeView.as_view(),
        name="one-click-unsubscribe",
    ),
    path("consent/confirm/<str:token>/", views.ConsentConfirmView.as_view(), name="consent-confirm"),
    # The marketers' editor.
    path("landing-pages/", editor.landing_page_list, name="editor-list"),
    path("landing-pages/new/", editor.landing_page_edit, name="editor-new"),
    path("landing-pages/preview/", editor.landing_page_preview, name="editor-preview"),
    path("landing-pages/<int:pk>/", editor.landing_page_edit, name="editor-edit"),
    path(
        "landing-pages/<int:pk>/requeue-failed/",
        editor.landing_page_requeue_failed,
        name="editor-requeue-failed",
    ),
]
