"""Settings and fixtures shared by the whole suite.

Every test (and every process a test starts) keeps its default state store and usage files in a
cache folder of this run, never in the user's own ``~/.cache/scriptix-compat``: a store left there
by another checkout (perhaps of a newer schema) must not change what a test sees, and a test must
not leave state behind.

Fixtures for every test directory: ``postgres_url`` (a PostgreSQL database of the test's own,
``tests/pg_guard.py``), ``store_backend`` (a store location per backend, ``tests/store_backends.py``),
``upstream`` and ``media_server`` (threaded HTTP servers on 127.0.0.1 and 127.0.0.2, one each per run,
``tests/fleet_processes.py``; a directory may define its own).
"""

from __future__ import annotations

import os
import shutil
import tempfile

_CACHE = tempfile.mkdtemp(prefix="scriptix-compat-tests-cache-")
os.environ["XDG_CACHE_HOME"] = _CACHE  # before anything imports compat

from fleet_processes import _threaded_media_host, _threaded_upstream, media_server, upstream  # noqa: E402
from pg_guard import postgres_url  # noqa: E402
from store_backends import store_backend  # noqa: E402

__all__ = ["_threaded_media_host", "_threaded_upstream", "media_server", "postgres_url", "store_backend", "upstream"]


def pytest_unconfigure() -> None:
    shutil.rmtree(_CACHE, ignore_errors=True)
