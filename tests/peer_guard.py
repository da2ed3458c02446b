"""One rule for tests that need a local service (the official @tus/server peer, PostgreSQL): skip
locally, fail under CI."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest
from tus_server import SERVER_DIR, node_ready


def require_tus_peer() -> None:
    """Return when the peer can run; otherwise skip (locally) or fail (``CI`` set: CI never skips)."""
    if node_ready():
        return
    skip_or_fail(f"the @tus/server peer is not installed: need `node` on PATH and `npm ci` run in {SERVER_DIR}")


def skip_or_fail(reason: str) -> NoReturn:
    """Skip the test for ``reason`` on a developer's machine; fail it when ``CI`` is set (CI never skips)."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is an error, not a skip)", pytrace=False)
    pytest.skip(reason)
