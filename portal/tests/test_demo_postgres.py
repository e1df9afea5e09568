"""Which PostgreSQL `make run` uses (portal.demo_postgres): the decision, with real sockets.

Starting the embedded server itself takes seconds and stays out of `make test`; it was run by
hand with `make run` (README).
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import pytest
from django.conf import settings

from portal import demo_postgres


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses connections: bound, never listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_a_new_env_uses_the_server_that_answers():
    """The test database's server answers: .env names it, and no embedded server."""
    database = settings.DATABASES["default"]
    server = f"postgres://postgres@{database['HOST']}:{database['PORT'] or 5432}"
    assert demo_postgres.env_lines(server + "/", "portal_demo_1") == [
        f"DATABASE_URL={server}/portal_demo_1"
    ]


def test_a_new_env_uses_the_embedded_server_where_nothing_answers(closed_port):
    """Nothing at the address: the embedded server on 127.0.0.1, and .env says it is embedded."""
    url, flag = demo_postgres.env_lines(f"postgres://postgres@127.0.0.1:{closed_port}", "demo_x")
    match = re.fullmatch(r"DATABASE_URL=postgres://postgres@127\.0\.0\.1:(\d+)/demo_x", url)
    assert match and int(match[1]) != closed_port
    assert flag == "DEMO_EMBEDDED_POSTGRES=true"


def test_the_embedded_server_takes_another_port_when_its_own_is_taken():
    """Something listening on 54329 (this test, or whatever holds it): a free port instead."""
    with socket.socket() as holder:
        try:
            holder.bind(("127.0.0.1", demo_postgres.EMBEDDED_PORT))
            holder.listen()
        except OSError:
            pass  # already held by something else: the same situation
        port = demo_postgres.embedded_port()
        assert port != demo_postgres.EMBEDDED_PORT
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", port))  # it was free


def test_an_address_without_a_port_is_the_default_port():
    """DEMO_DATABASE_SERVER=postgres://user@host means port 5432."""
    assert demo_postgres.address("postgres://postgres@db.local") == ("db.local", 5432)
    assert demo_postgres.address("postgres://postgres@127.0.0.1:5499/x") == ("127.0.0.1", 5499)


def test_the_env_command_names_a_database_of_its_own(closed_port, capsys):
    """`env` prints the lines for .env with a random database name, then exit status 0."""
    assert demo_postgres.main(["env", f"postgres://postgres@127.0.0.1:{closed_port}"]) == 0
    url = capsys.readouterr().out.splitlines()[0]
    assert re.fullmatch(
        r"DATABASE_URL=postgres://postgres@127\.0\.0\.1:\d+/portal_demo_[0-9a-f]{8}", url
    )


def test_an_unknown_command_prints_the_usage():
    """Exit status 2, as a command line tool does."""
    assert demo_postgres.main(["begin"]) == 2
