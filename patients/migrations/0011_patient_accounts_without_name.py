"""A patient's name lives on their record, encrypted: an account that is only a patient's keeps no
name in clear (SECURITY.md T43). Staff keep theirs (the team page shows it)."""

from django.db import migrations


def clear_patient_account_names(apps, schema_editor):
    User = apps.get_model("clinics", "User")
    Patient = apps.get_model("patients", "Patient")
    Membership = apps.get_model("clinics", "Membership")
    patients_only = (
        User.objects.filter(pk__in=Patient.objects.values("user_id"))
        .exclude(pk__in=Membership.objects.values("user_id"))
        .exclude(is_staff=True)
        .exclude(display_name="")
    )
    patients_only.update(display_name="")


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0010_alert_one_open_per_rule"),
        ("clinics", "0011_access_action_link"),
    ]

    operations = [migrations.RunPython(clear_patient_account_names, migrations.RunPython.noop)]
