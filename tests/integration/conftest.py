"""Fixtures for the integration tests: a real ``@tus/server`` peer on 127.0.0.1.

The peer needs Node and ``npm ci`` in ``tests/tus-server``. Without them the tests
are skipped on a developer's machine, but fail when ``CI`` is set: CI must never
skip them silently.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent.parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

from peer_guard import require_tus_peer  # noqa: E402
from tus_server import TusServer  # noqa: E402


@pytest.fixture
def tus_server(tmp_path: Path) -> Iterator[TusServer]:
    """A started :class:`TusServer` storing into ``tmp_path / "tus-data"``; always stopped."""
    require_tus_peer()
    server = TusServer(tmp_path / "tus-data")
    try:
        server.start()
        yield server
    finally:
        server.close()
