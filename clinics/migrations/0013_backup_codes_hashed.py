"""Backup codes stored before T43 were plain text: replace each by its keyed digest (the same
function as clinics.mfa.backup_code_digest, copied so that this migration never changes). A
digest is 16 hex characters; a code made by the portal is 10 characters, so a second run
leaves digests alone."""

from django.db import migrations
from django.utils.crypto import salted_hmac


def _digest(code: str) -> str:
    normalised = "".join(code.split()).lower()
    return salted_hmac("clinics.mfa.backup-code", normalised, algorithm="sha256").hexdigest()[:16]


def hash_plain_backup_codes(apps, schema_editor):
    StaticToken = apps.get_model("otp_static", "StaticToken")
    for token in StaticToken.objects.exclude(token__regex=r"^[0-9a-f]{16}$").iterator():
        token.token = _digest(token.token)
        token.save(update_fields=["token"])


class Migration(migrations.Migration):
    dependencies = [
        ("clinics", "0012_access_log_operator_entries"),
        ("otp_static", "0003_add_timestamps"),
    ]

    operations = [
        migrations.RunPython(hash_plain_backup_codes, migrations.RunPython.noop, elidable=False),
    ]
