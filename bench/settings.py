"""Benchmark settings: the test settings (production stack, fast hashing, locmem cache) on the
benchmark's own PostgreSQL database, BENCH_DATABASE_URL. Never used by the web app or pytest."""

import os

BENCH_DATABASE_URL = os.environ.setdefault(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_bench"
)
# settings_test only sets defaults: the benchmark database wins over any DATABASE_URL around.
os.environ["DATABASE_URL"] = BENCH_DATABASE_URL

from portal.settings_test import *  # noqa: E402, F403

# As in production: each page script's integrity (the module graph's hashes) is computed once
# per process, not re-read on every request as the tests' auto-refreshing WhiteNoise does.
WHITENOISE_AUTOREFRESH = False
WHITENOISE_USE_FINDERS = True
