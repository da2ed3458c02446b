"""Settings shared by the whole suite.

Every test (and every process a test starts) keeps its default state store and usage files in a
cache folder of this run, never in the user's own ``~/.cache/scriptix-compat``: a store left there
by another checkout (perhaps of a newer schema) must not change what a test sees, and a test must
not leave state behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile

_CACHE = tempfile.mkdtemp(prefix="scriptix-compat-tests-cache-")
os.environ["XDG_CACHE_HOME"] = _CACHE


def pytest_unconfigure() -> None:
    shutil.rmtree(_CACHE, ignore_errors=True)
