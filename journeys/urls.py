"""Public tracking endpoints and the journey designer pages."""

from django.urls import path

from . import views

app_name = "journeys"

urlpatterns = [
    path("t/o/<str:token>.gif", views.open_pixel, name="open-pixel"),
    path("t/c/<str:token>/", views.tracked_click, name="tracked-click"),
    path("journeys/", views.journey_list_page, name="list"),
    path("journeys/<int:pk>/", views.journey_detail_page, name="detail"),
]
