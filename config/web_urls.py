from django.urls import path

from crm_core.views.home import home

urlpatterns = [
    path("", home, name="home"),
]
