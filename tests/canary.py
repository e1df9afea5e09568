"""What the end-to-end-encrypted channels' browser tests look in for a canary (E2EE.md check 1),
shared by tests/test_browser_chat.py and tests/test_browser_clinic_messages.py: the application
log with every SQL statement, the broker's Redis, and the canary's forms in them; and the
worker thread those tests run ORM code in (Django refuses it inside Playwright's loop)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import redis
from django.conf import settings
from django.db import connections

from tests.test_dump_canary import find_in, forms_of

APP_LOGGERS = ("django", "messaging", "clinics", "portal", "patients", "celery", "kombu")


class ApplicationLog(logging.Handler):
    """Every log record from `start()` to `stop()`, formatted with its arguments: the root logger
    and each application logger at DEBUG meanwhile (each by name too: pytest's log capture
    resets the root's level between a test's phases), their levels restored afterwards."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self._loggers = [logging.getLogger(), *(logging.getLogger(n) for n in APP_LOGGERS)]
        self._levels = [logger.level for logger in self._loggers]

    def start(self) -> None:
        logging.getLogger().addHandler(self)
        for logger in self._loggers:
            logger.setLevel(logging.DEBUG)

    def stop(self) -> None:
        logging.getLogger().removeHandler(self)
        for logger, level in zip(self._loggers, self._levels, strict=True):
            logger.setLevel(level)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(f"{record.name} {record.levelname} {record.getMessage()}")
        except Exception:  # a badly formatted record is kept as it was given
            self.lines.append(f"{record.name} {record.msg!r} {record.args!r}")

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def in_thread(work: Callable[[], object]) -> object:
    """Run ORM code outside Playwright's loop (Django refuses it inside), on a connection of
    its own that is closed afterwards."""

    def run() -> object:
        try:
            return work()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def redis_dump() -> bytes:
    """Every key of the test broker's Redis database with its value, raw (DUMP) and read by
    type."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    parts: list[bytes] = []
    for key in client.scan_iter():
        parts += [key, client.dump(key) or b""]
        kind = client.type(key)
        if kind == b"string":
            parts.append(client.get(key) or b"")
        elif kind == b"list":
            parts += client.lrange(key, 0, -1)
        elif kind == b"hash":
            for k, v in client.hgetall(key).items():
                parts += [k, v]
        elif kind == b"set":
            parts += list(client.smembers(key))
        elif kind == b"zset":
            parts += client.zrange(key, 0, -1)
    return b"\n".join(parts)


def found(needles: dict[str, str], haystacks: dict[str, bytes]) -> list[str]:
    """Each needle, in each of its forms (raw, hex, base32, base64), found in a haystack."""
    return [
        f"{name} as {form!r} in {where}"
        for name, text in needles.items()
        for form in forms_of(text.encode())
        for where, haystack in haystacks.items()
        if find_in(form, haystack) >= 0
    ]
