from django.apps import AppConfig


class LandingConfig(AppConfig):
    name = "landing"
    verbose_name = "Landing pages"

    def custom_field_usages(self, entity: str, key: str) -> list[str]:
        """Form fields mapped to the custom field."""
        from .models import FormField

        attribute = {"contact": "contact_field", "lead": "lead_field"}.get(entity)
        if attribute is None:
            return []
        mapped = (
            FormField.objects.filter(**{attribute: f"custom.{key}"}).select_related("page").order_by("id")
        )
        return [f"landing page “{f.page.title}” (/l/{f.page.slug}/), form field “{f.name}”" for f in mapped]
