from .email_templates import EmailTemplateViewSet
from .views import JourneyViewSet


def register(router) -> None:
    router.register("journeys", JourneyViewSet, basename="journey")
    router.register("email-templates", EmailTemplateViewSet, basename="email-template")
