"""One rule for tests that need the official @tus/server peer: skip locally, fail under CI."""

from __future__ import annotations

import os

import pytest
from tus_server import SERVER_DIR, node_ready


def require_tus_peer() -> None:
    """Return when the peer can run; otherwise skip (locally) or fail (``CI`` set: CI never skips)."""
    if node_ready():
        return
    reason = f"the @tus/server peer is not installed: need `node` on PATH and `npm ci` run in {SERVER_DIR}"
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is an error, not a skip)", pytrace=False)
    pytest.skip(reason)
