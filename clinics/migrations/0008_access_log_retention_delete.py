"""The access log keeps its own retention (NEN 7513: at least 5 years) without an application
path to delete it: the trigger still refuses every UPDATE, and refuses a DELETE unless

- the row is older than 5 years by the database's clock (a wrong application clock or cutoff
  cannot shorten the legal minimum), and
- the deleting transaction has set `portal.retention_purge` to 'on' with SET LOCAL (or
  set_config(..., true)), which only the retention service (clinics.retention) does, for its
  append-only purges, inside each batch's transaction.

TRUNCATE stays possible, as before (a database administrator's operation, the test runner's flush).
"""

from django.db import migrations

RETENTION_DELETE = """
CREATE OR REPLACE FUNCTION clinics_accesslog_refuse_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE'
       AND current_setting('portal.retention_purge', true) = 'on'
       AND OLD.occurred_at < now() - interval '5 years' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'The access log is append-only';
END;
$$ LANGUAGE plpgsql;
"""

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION clinics_accesslog_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'The access log is append-only';
END;
$$ LANGUAGE plpgsql;
"""


def _run(sql: str):  # noqa: ANN202
    def apply(apps, schema_editor) -> None:  # noqa: ANN001
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return apply


class Migration(migrations.Migration):
    dependencies = [("clinics", "0007_purge_run")]

    operations = [migrations.RunPython(_run(RETENTION_DELETE), _run(APPEND_ONLY))]
