"""On PostgreSQL the database itself refuses to change or delete access-log entries.

TRUNCATE stays possible: it is a database administrator's operation (and the test runner's
flush), not a path the application has.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION clinics_accesslog_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'The access log is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER clinics_accesslog_append_only
    BEFORE UPDATE OR DELETE ON clinics_accesslogentry
    FOR EACH ROW EXECUTE FUNCTION clinics_accesslog_refuse_change();
"""

DROP = """
DROP TRIGGER IF EXISTS clinics_accesslog_append_only ON clinics_accesslogentry;
DROP FUNCTION IF EXISTS clinics_accesslog_refuse_change();
"""


def _run(sql: str):  # noqa: ANN202
    def apply(apps, schema_editor) -> None:  # noqa: ANN001
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return apply


class Migration(migrations.Migration):
    dependencies = [("clinics", "0002_initial")]

    operations = [migrations.RunPython(_run(CREATE), _run(DROP))]
