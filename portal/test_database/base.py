"""The PostgreSQL backend for tests only (portal/settings_test.py): Django's, whose flush gets
past the access log's TRUNCATE trigger.

Transactional tests end with `flush`, one TRUNCATE of every table, which the access log's
statement trigger refuses (clinics migration 0010). The flush runs with
`session_replication_role = replica` for its own transaction, where ordinary triggers do not
fire; only a superuser (the test runner's role) may set it, never the application's role.
"""

from django.db.backends.postgresql import base, operations


class DatabaseOperations(operations.DatabaseOperations):
    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        statements = super().sql_flush(
            style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )
        if not statements:
            return statements
        return ["SET LOCAL session_replication_role = replica", *statements]


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
