"""The database refuses TRUNCATE of the access log as well (F6): row-level triggers (0003, 0008)
never see a TRUNCATE, so a statement-level trigger refuses it.

A table's owner can still drop or disable the trigger, which is why the application connects as
a role that owns nothing (README, deploy/database-roles.sql). The test runner's flush gets past
the trigger as a superuser with session_replication_role = replica (portal/test_database).
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION clinics_accesslog_refuse_truncate() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'The access log is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER clinics_accesslog_no_truncate
    BEFORE TRUNCATE ON clinics_accesslogentry
    FOR EACH STATEMENT EXECUTE FUNCTION clinics_accesslog_refuse_truncate();
"""

DROP = """
DROP TRIGGER IF EXISTS clinics_accesslog_no_truncate ON clinics_accesslogentry;
DROP FUNCTION IF EXISTS clinics_accesslog_refuse_truncate();
"""


def _run(sql: str):  # noqa: ANN202
    def apply(apps, schema_editor) -> None:  # noqa: ANN001
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return apply


class Migration(migrations.Migration):
    dependencies = [("clinics", "0009_axes_forget_clear_identifiers")]

    operations = [migrations.RunPython(_run(CREATE), _run(DROP))]
