from django.urls import path

from . import views

app_name = "segments"
urlpatterns = [
    path("segments/", views.segment_list, name="list"),
    path("segments/new/", views.segment_builder, name="new"),
    path("segments/<int:pk>/", views.segment_builder, name="builder"),
]
