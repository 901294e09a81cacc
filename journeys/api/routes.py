from .views import JourneyViewSet


def register(router) -> None:
    router.register("journeys", JourneyViewSet, basename="journey")
