"""Forget what django-axes stored before lockout identifiers became keyed hashes (F5): its
access log (every sign-in's e-mail address, address and browser; no longer written, see
AXES_DISABLE_ACCESS_LOG), its failure log, and the current attempts, whose user names and posted
forms held e-mail addresses in clear. Current lockouts (at most AXES_COOLOFF_HOURS old) end."""

from django.db import migrations


def forget(apps, schema_editor) -> None:  # noqa: ANN001
    for name in ("AccessLog", "AccessFailureLog", "AccessAttempt"):
        apps.get_model("axes", name).objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("clinics", "0008_access_log_retention_delete"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [migrations.RunPython(forget, migrations.RunPython.noop)]
