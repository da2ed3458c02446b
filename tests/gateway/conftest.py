"""Fixtures for the gateway tests: a fake V3 on ``upstream`` (tests/conftest.py), a gateway in front of it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_v3 import FakeV3
from gateway_helpers import GATEWAY_OPTIONS, TOKEN
from pytest_httpserver import HTTPServer

from compat.gateway import GatewayServer


@pytest.fixture
def fake(upstream: HTTPServer) -> FakeV3:
    return FakeV3(upstream, token=TOKEN)


@pytest.fixture
def gateway(fake: FakeV3, tmp_path: Path) -> Iterator[GatewayServer]:
    """A gateway in this process, in front of ``fake``, on a free 127.0.0.1 port."""
    with GatewayServer(fake.base_url, store=tmp_path / "state.sqlite3", **GATEWAY_OPTIONS) as server:
        yield server
