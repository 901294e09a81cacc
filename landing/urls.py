from django.urls import path

from . import views

app_name = "landing"

urlpatterns = [
    path("l/<slug:slug>/", views.LandingPageView.as_view(), name="page"),
    path("preferences/<str:token>/", views.PreferencesView.as_view(), name="preferences"),
]
