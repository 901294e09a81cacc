from django.urls import path

from . import views

app_name = "sales"

urlpatterns = [
    path("timeline/<str:entity>/<int:pk>/", views.timeline_partial, name="timeline"),
    path("work/<str:entity>/<int:pk>/", views.work_partial, name="work"),
    path("work/<str:entity>/<int:pk>/activities/", views.activity_create, name="activity-create"),
    path("work/<str:entity>/<int:pk>/tasks/", views.task_create, name="task-create"),
    path("tasks/<int:pk>/complete/", views.task_complete, name="task-complete"),
    path("tasks/journey/<int:journey_id>/", views.journey_tasks_partial, name="journey-tasks"),
    path("notifications/", views.notifications_page, name="notifications"),
    path("notifications/badge/", views.notifications_badge, name="notifications-badge"),
]
