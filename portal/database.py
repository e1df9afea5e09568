"""Create the configured PostgreSQL database when it does not exist yet (`make run`, `make bench`).

Django cannot connect to a database that is not there, so this connects to the server's
`postgres` maintenance database with the same credentials. Run as
`python -m portal.database` with DJANGO_SETTINGS_MODULE set, or call `database_ensure`.
"""

from __future__ import annotations

import os

import psycopg
from psycopg import sql


def database_ensure(settings_dict: dict, *, drop: bool = False) -> bool:
    """Create the database of a Django DATABASES entry if missing (dropped first with `drop`).
    True when it was created."""
    params = {
        "dbname": "postgres",
        "user": settings_dict.get("USER") or None,
        "password": settings_dict.get("PASSWORD") or None,
        "host": settings_dict.get("HOST") or None,
        "port": settings_dict.get("PORT") or None,
    }
    name = settings_dict["NAME"]
    with psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and drop:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
            exists = None
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return not exists


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database_ensure(database):
        print(f"Created the database {database['NAME']}.")
