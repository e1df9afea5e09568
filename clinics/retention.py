"""Retention: the one mechanism that deletes or anonymises personal data whose period has ended.

Invariants:
- Every purge enforces one declaration of the personal-data registry (portal.personal_data):
  its cutoff is `now - declaration.retention`, so a period is written once, in the declaration.
  Apps register their purges in `<app>/purges.py`, imported from their AppConfig.ready().
- A purge runs in batches of BATCH_SIZE rows, each batch in its own transaction: a run killed
  midway leaves every batch either done or not started, never half done. The expired rows are
  selected again for every batch, so a rerun carries on where a killed run stopped, and a purge
  that has finished purges nothing more: idempotent, safe to kill and to rerun.
- A batch locks the rows it selects (`FOR UPDATE SKIP LOCKED`): a row another transaction is
  changing right now is left for the next batch or run, never waited for.
- A batch's action takes its rows out of the expired set (deletes them, or changes them so the
  selection no longer matches); a batch that purges nothing ends the run rather than loop.
- A full run takes the purges in the order they were registered (`purges`).
- One run per purge at a time: a session-level PostgreSQL advisory lock per purge
  (`pg_try_advisory_lock`); a second, concurrent run skips, it neither waits nor purges twice.
- Every run leaves one `PurgeRun` with counts only (name, times, cutoff, rows, batches, dry run,
  outcome), never a purged row's content or identifier. Its counts are saved in each batch's
  transaction, so they match what was done; a run killed midway stays `running`.
- A dry run counts what is due and purges nothing.
- Purges select by age across all clinics (the one cross-clinic path, as in beat tasks): they
  return counts only, and an action that calls a clinic's service loads the row's clinic first.
- Run purges outside a transaction (the beat task `clinics.tasks.retention_purge`, the command
  `manage.py purge`): inside one, the batches would share its fate.
- The access log (NEN 7513) is append-only, for the database too: its trigger (clinics migration
  0008) refuses every UPDATE, and refuses a DELETE unless the row is older than 5 years by the
  database's clock AND the transaction has set `portal.retention_purge` locally. This service
  sets that flag, and only for a purge registered `append_only=True`, inside each batch's
  transaction (SET LOCAL: it ends with the batch). The model and its queryset keep refusing
  changes, so no application path other than the purge can delete an entry.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

from django.apps import apps
from django.db import connection, models, transaction
from django.utils import timezone

from clinics.models import PurgeOutcome, PurgeRun
from portal.personal_data import PersonalData

logger = logging.getLogger(__name__)

BATCH_SIZE = 1_000
RETENTION_FLAG = "portal.retention_purge"

Expired = Callable[[datetime.datetime], models.QuerySet]
Action = Callable[[list], int]


@dataclass(frozen=True)
class Purge:
    name: str
    declaration: PersonalData
    # The rows whose period ended before the cutoff (any order; the service batches them).
    expired: Expired
    # Purges one batch of primary keys, inside the batch's transaction; returns rows purged.
    action: Action
    # The rows are append-only in the database: the batch's transaction sets RETENTION_FLAG.
    append_only: bool = False
    # The order batches are taken in: an indexed column that the expiry test ranges over (for
    # example `expires_at`), so each batch reads the next rows of an index instead of sorting
    # every expired row again.
    order: str = "pk"

    def cutoff(self, now: datetime.datetime) -> datetime.datetime:
        return now - self.declaration.retention


class PurgeFailed(Exception):
    """A purge stopped with an error; `run` is its record (the batches before it stay done)."""

    def __init__(self, run: PurgeRun) -> None:
        super().__init__(f"Retention purge {run.name} failed.")
        self.run = run


_purges: dict[str, Purge] = {}


def register(
    *,
    name: str,
    declaration: PersonalData,
    expired: Expired,
    action: Action | None = None,
    append_only: bool = False,
    order: str = "pk",
) -> Purge:
    """Register a purge; without an action the expired rows are deleted. The same purge again
    changes nothing (an app's ready() runs again in every app registry a test isolates, as
    portal.personal_data allows); another purge under a name already taken is refused."""
    if declaration.retention is None:
        raise ValueError(f"{declaration.model} declares no retention period to purge after.")
    purge = Purge(
        name=name,
        declaration=declaration,
        expired=expired,
        action=action or _deleter(declaration.model),
        append_only=append_only,
        order=order,
    )
    known = _purges.get(name)
    if known is not None and known != purge:
        raise ValueError(f"A purge named {name} is already registered.")
    _purges[name] = purge
    return purge


def purges() -> list[Purge]:
    """In the order registered (the apps' order in INSTALLED_APPS, then each app's own): an app
    registers the purge of a child table before its parent's, so that in a full run the child's
    purge does its work in its own batches rather than the parent's purge in bigger ones."""
    return list(_purges.values())


def purge_names() -> list[str]:
    return sorted(_purges)


@functools.cache  # one deleter per model, so that registering a purge again finds it equal
def _deleter(label: str) -> Action:
    def delete(pks: list) -> int:
        model = apps.get_model(label)
        return model._base_manager.filter(pk__in=pks).delete()[1].get(model._meta.label, 0)

    return delete


def lock_key(name: str) -> int:
    """The purge's advisory-lock key: a signed 64-bit number derived from its name."""
    digest = hashlib.sha256(f"clinics.retention:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def _advisory_lock(name: str) -> Iterator[bool]:
    key = lock_key(name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        is_locked = cursor.fetchone()[0]
    try:
        yield is_locked
    finally:
        if is_locked:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def _set_retention_flag() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, 'on', true)", [RETENTION_FLAG])


def _finish(run: PurgeRun, outcome: PurgeOutcome) -> PurgeRun:
    run.outcome = outcome
    run.finished_at = timezone.now()
    run.save(update_fields=["outcome", "finished_at"])
    return run


def _purge_batches(purge: Purge, run: PurgeRun) -> None:
    while True:
        with transaction.atomic():
            pks = list(
                purge.expired(run.cutoff_at)
                .order_by(purge.order)
                .select_for_update(skip_locked=True, of=("self",))
                .values_list("pk", flat=True)[:BATCH_SIZE]
            )
            if not pks:
                return
            if purge.append_only:
                _set_retention_flag()
            purged = purge.action(pks)
            if purged == 0:
                return
            run.rows_purged += purged
            run.batches += 1
            run.save(update_fields=["rows_purged", "batches"])


def purge_run(
    purge: Purge, *, now: datetime.datetime | None = None, dry_run: bool = False
) -> PurgeRun:
    """Run one purge (or count what it would purge) and record the run; PurgeFailed if it
    stopped with an error."""
    started_at = timezone.now()
    run = PurgeRun.objects.create(
        name=purge.name,
        is_dry_run=dry_run,
        started_at=started_at,
        cutoff_at=purge.cutoff(now or started_at),
    )
    with _advisory_lock(purge.name) if not dry_run else nullcontext(True) as is_locked:
        if not is_locked:
            return _finish(run, PurgeOutcome.SKIPPED)
        try:
            run.rows_expired = purge.expired(run.cutoff_at).count()
            run.save(update_fields=["rows_expired"])
            if not dry_run:
                _purge_batches(purge, run)
        except Exception as exc:
            raise PurgeFailed(_finish(run, PurgeOutcome.FAILED)) from exc
    return _finish(run, PurgeOutcome.DONE)


def purges_run(
    *,
    now: datetime.datetime | None = None,
    dry_run: bool = False,
    only: Iterable[str] | None = None,
) -> list[PurgeRun]:
    """Run every registered purge (or those named in `only`), each on its own: one that fails
    is logged and recorded as failed, and the others still run."""
    chosen = [_purges[name] for name in only] if only else purges()
    runs = []
    for purge in chosen:
        try:
            runs.append(purge_run(purge, now=now, dry_run=dry_run))
        except PurgeFailed as failure:
            logger.exception("Retention purge %s failed.", purge.name)
            runs.append(failure.run)
    return runs
