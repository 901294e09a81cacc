"""Form fields may map to custom fields (`custom.<key>`): the targets are checked by
landing.services.definitions against the definitions, no longer by fixed model choices."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("landing", "0003_page_identified_visitors_update"), ("crm_core", "0013_custom_fields")]

    operations = [
        migrations.AlterField(
            model_name="formfield",
            name="contact_field",
            field=models.CharField(blank=True, help_text="Contact field it sets.", max_length=32),
        ),
        migrations.AlterField(
            model_name="formfield",
            name="lead_field",
            field=models.CharField(blank=True, help_text="Lead field it sets.", max_length=32),
        ),
    ]
