"""Fixtures for the integration tests: a real ``@tus/server`` peer on 127.0.0.1.

The peer needs Node and ``npm ci`` in ``tests/tus-server``. Without them the tests
are skipped on a developer's machine, but fail when ``CI`` is set: CI must never
skip them silently.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent.parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

from tus_server import SERVER_DIR, TusServer, node_ready  # noqa: E402


def require_node() -> None:
    """Skip (locally) or fail (under CI) when the TUS peer cannot run."""
    if node_ready():
        return
    reason = f"the @tus/server peer is not installed: need `node` on PATH and `npm ci` run in {SERVER_DIR}"
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is an error, not a skip)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def tus_server(tmp_path: Path) -> Iterator[TusServer]:
    """A started :class:`TusServer` storing into ``tmp_path / "tus-data"``; always stopped."""
    require_node()
    server = TusServer(tmp_path / "tus-data")
    try:
        server.start()
        yield server
    finally:
        server.close()
