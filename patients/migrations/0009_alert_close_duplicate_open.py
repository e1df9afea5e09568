"""Before one open alert per rule and patient becomes a database constraint (0010): where two
evaluations at once left several open alerts for one rule and patient, keep the newest open and
close the others. Closed as acknowledged without a person (acknowledged_by stays empty): alerts
are never deleted."""

from django.db import migrations

CLOSE_DUPLICATES = """
UPDATE patients_alert AS older
SET acknowledged_at = now()
WHERE older.acknowledged_at IS NULL
  AND older.rule_id IS NOT NULL
  AND EXISTS (
    SELECT 1 FROM patients_alert AS newer
    WHERE newer.rule_id = older.rule_id
      AND newer.patient_id = older.patient_id
      AND newer.clinic_id = older.clinic_id
      AND newer.acknowledged_at IS NULL
      AND (newer.raised_at, newer.id) > (older.raised_at, older.id)
  )
"""


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0008_measurement_entered_by_manual_only"),
    ]

    operations = [
        # Nothing to undo: the closed duplicates stay closed.
        migrations.RunSQL(CLOSE_DUPLICATES, reverse_sql=migrations.RunSQL.noop, elidable=False),
    ]
