from django.apps import AppConfig


class JourneysConfig(AppConfig):
    name = "journeys"
    verbose_name = "Journeys"

    def custom_field_usages(self, entity: str, key: str) -> list[str]:
        """Send-email steps whose subject or body merge the custom field."""
        from .email_templates import custom_merge_fields
        from .models import Step, StepKind

        steps = Step.objects.filter(kind=StepKind.SEND_EMAIL).select_related("journey").order_by("id")
        return [
            f"email step “{step.key}” of journey “{step.journey.name}”"
            for step in steps
            if any(
                (entity, key) in custom_merge_fields(step.config.get(part) or "")
                for part in ("subject", "html", "text")
                if isinstance(step.config.get(part), str)
            )
        ]
