from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "segments"
    verbose_name = "Segments"

    def ready(self) -> None:
        from . import signals

        signals.connect()

    def custom_field_usages(self, entity: str, key: str) -> list[str]:
        from .usages import custom_field_usages

        return custom_field_usages(entity, key)
