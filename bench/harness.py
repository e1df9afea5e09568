"""What bench/run.py lends every section (`Bench`), so that each section of results.json is
measured alike: the same timing in turns, SQL floors, query counts, signed-in clients and seed
markers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Bench:
    """The helpers of run.py, and the request counts of this run."""

    timed: Callable[..., list[dict[str, float]]]
    sql_runner: Callable[[list[tuple[str, Any]]], Callable[[], object]]
    query_count: Callable[[Callable[[], object]], int]  # the queries one call makes
    # A page and its floor (the signed-in request's statements, the data, the writes) in turns.
    page_against_floor: Callable[..., dict[str, Any]]
    executed_by: Callable[[Callable[[], object]], list[tuple[str, Any]]]  # statements, as run
    signed_in_client: Callable[[Any], Any]
    # A GET that must answer a status (and show a number of table rows, when given).
    page_getter: Callable[..., Callable[[], object]]
    staff_for: Callable[[Any, str], Any]
    checkpoint: Callable[[], None]
    seed_marker: Callable[[str], dict | None]  # what a seed recorded, if it is this version's
    seed_mark: Callable[[str, dict], None]  # record a seed
    names: Callable[[int], tuple[str, str]]  # the i-th seeded patient's given and family name
    requests: int
    warmup: int
    upload_runs: int
