from django.urls import path

from . import views

app_name = "leadscoring"

urlpatterns = [
    path("scoring/", views.scoring_model_list_page, name="model-list"),
]
