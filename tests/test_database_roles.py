"""F6: deploy/database-roles.sql gives the application a role that owns nothing.

Against a throwaway database on the test server: the script (twice: it is idempotent), the
migrations as the owner role, then the application's role may write an access-log entry but
cannot truncate the log, drop or disable its triggers, or delete a young entry.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from psycopg import sql

from portal.tests.test_deploy import production_env

SCRIPT = Path(settings.BASE_DIR) / "deploy" / "database-roles.sql"


def server() -> dict[str, str]:
    database = settings.DATABASES["default"]
    return {
        "host": database.get("HOST") or "127.0.0.1",
        "port": str(database.get("PORT") or 5432),
        "user": database.get("USER") or "postgres",
    }


def url(user: str, dbname: str) -> str:
    return f"postgres://{user}@{server()['host']}:{server()['port']}/{dbname}"


def run_script(names: dict[str, str]) -> None:
    variables = [arg for name, value in names.items() for arg in ("-v", f"{name}={value}")]
    result = subprocess.run(
        ["psql", url(server()["user"], "postgres"), "-q", *variables, "-f", str(SCRIPT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def migrate_as(user: str, dbname: str) -> None:
    env = production_env(DATABASE_URL=url(user, dbname))
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def admin_execute(*statements: sql.Composable) -> None:
    params = server()
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        for statement in statements:
            conn.execute(statement)


@pytest.fixture(scope="module")
def roles() -> Iterator[dict[str, str]]:
    """A migrated throwaway database with the script's two roles; all dropped afterwards."""
    suffix = secrets.token_hex(4)
    names = {
        "owner": f"portal_owner_{suffix}",
        "app": f"portal_app_{suffix}",
        "database": f"portal_roles_{suffix}",
    }
    try:
        run_script(names)
        run_script(names)
        migrate_as(names["owner"], names["database"])
        run_script(names)  # again after the migrations: nothing to take over, nothing breaks
        yield names
    finally:
        admin_execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(names["database"])
            ),
            sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(names["app"])),
            sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(names["owner"])),
        )


@pytest.fixture
def app(roles) -> Iterator[psycopg.Connection]:
    """A connection as the application's role."""
    params = server() | {"user": roles["app"]}
    with psycopg.connect(dbname=roles["database"], autocommit=True, **params) as conn:
        yield conn


INSERT_ENTRY = """
INSERT INTO clinics_accesslogentry (occurred_at, clinic_id, user_label, role, on_behalf_of,
    action, outcome, object_type, object_id, part, user_agent, path)
VALUES (now(), 1, 'alice@noord.example', 'professional', '', 'read', 'allowed',
    'patients.patient', '9', 'profile', '', '/patients/9/')
RETURNING id
"""


def test_the_application_role_is_no_superuser_and_owns_nothing(roles, app):
    """Not a superuser; every table, sequence and function belongs to the owner role."""
    assert app.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone() == (
        False,
    )
    owned = app.execute(
        "SELECT count(*) FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles"
        " WHERE rolname = current_user)"
    ).fetchone()
    assert owned == (0,)
    tables = app.execute(
        "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'"
    ).fetchall()
    assert tables == [(roles["owner"],)]


def test_the_application_role_writes_rows_and_uses_temporary_tables(app):
    """What the portal does at run time: read, insert, update, temporary tables."""
    entry_id = app.execute(INSERT_ENTRY).fetchone()[0]
    assert entry_id
    app.execute("SELECT count(*) FROM clinics_user").fetchone()
    app.execute("UPDATE clinics_clinic SET name = name")
    with app.transaction():
        app.execute("CREATE TEMPORARY TABLE staged (n int) ON COMMIT DROP")


@pytest.mark.parametrize(
    "statement",
    [
        "TRUNCATE clinics_accesslogentry",
        "DROP TRIGGER clinics_accesslog_append_only ON clinics_accesslogentry",
        "DROP TRIGGER clinics_accesslog_no_truncate ON clinics_accesslogentry",
        "ALTER TABLE clinics_accesslogentry DISABLE TRIGGER ALL",
        "DROP FUNCTION clinics_accesslog_refuse_change() CASCADE",
        "DROP TABLE clinics_accesslogentry",
        "SET session_replication_role = replica",
        "CREATE TABLE public.mine (n int)",
    ],
)
def test_the_application_role_cannot_get_round_the_append_only_log(app, statement):
    """Owning nothing, the role may not truncate, alter or drop, nor switch triggers off."""
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        app.execute(statement)


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM clinics_accesslogentry WHERE id = %s",
        "UPDATE clinics_accesslogentry SET part = 'x' WHERE id = %s",
    ],
)
def test_the_application_role_cannot_change_a_young_entry(app, statement):
    """The triggers refuse a DELETE or UPDATE of a recent entry, even with the purge's flag."""
    entry_id = app.execute(INSERT_ENTRY).fetchone()[0]
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"), app.transaction():
        app.execute("SELECT set_config('portal.retention_purge', 'on', true)")
        app.execute(statement, [entry_id])
    assert app.execute(
        "SELECT part FROM clinics_accesslogentry WHERE id = %s", [entry_id]
    ).fetchone() == ("profile",)
