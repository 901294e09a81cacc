from django.urls import path

from workspace.views.home import home

urlpatterns = [
    path("", home, name="home"),
]
