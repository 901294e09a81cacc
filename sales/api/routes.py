from .views import ActivityViewSet, TaskViewSet


def register(router) -> None:
    router.register("activities", ActivityViewSet, basename="activity")
    router.register("tasks", TaskViewSet, basename="task")
