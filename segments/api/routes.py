from . import views


def register(router) -> None:
    router.register("segments", views.SegmentViewSet)
