from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0004_import_mapping"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="measurement",
            index=models.Index(fields=["patient", "-measured_at"], name="measurement_patient_time"),
        ),
    ]
