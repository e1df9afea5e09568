"""TOTP keys were stored in clear by django-otp (`otp_totp_totpdevice.key`, hex): move every
TOTPDevice row into `clinics.AuthenticatorDevice`, whose key is encrypted (T43), and delete the
old row. Everything that decides a verification moves with it (step, t0, digits, tolerance,
drift, `last_t` against replays, the throttling state), so people keep their phones' codes.

Sessions verified with an old device name it in `otp_device_id` ("otp_totp.totpdevice/5"); that
device is gone, so such a session is no longer verified and meets the MFA gate again: people
enter a code once more. django-otp's otp_totp app stays installed so that its migrations (and
this one's dependency) stay consistent; its table is empty from here on.
"""

from django.db import migrations

MOVED_FIELDS = (
    "user_id",
    "name",
    "confirmed",
    "key",
    "step",
    "t0",
    "digits",
    "tolerance",
    "drift",
    "last_t",
    "throttling_failure_timestamp",
    "throttling_failure_count",
    "last_used_at",
)


def move_totp_devices(apps, schema_editor):
    old_model = apps.get_model("otp_totp", "TOTPDevice")
    new_model = apps.get_model("clinics", "AuthenticatorDevice")
    for old in old_model.objects.order_by("pk"):
        # Saving through the encrypted field encrypts the hex key.
        new = new_model.objects.create(**{f: getattr(old, f) for f in MOVED_FIELDS})
        # created_at is auto_now_add: keep the original date.
        new_model.objects.filter(pk=new.pk).update(created_at=old.created_at)
        old.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("clinics", "0014_authenticator_device"),
        ("otp_totp", "0003_add_timestamps"),
    ]

    operations = [
        migrations.RunPython(move_totp_devices, migrations.RunPython.noop, elidable=False),
    ]
