"""Fixtures for the gateway tests: a threaded fake V3 upstream, a gateway in front of it, a media host."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_v3 import FakeV3
from fleet_processes import threaded_server
from gateway_helpers import GATEWAY_OPTIONS, TOKEN
from pytest_httpserver import HTTPServer

from compat.gateway import GatewayServer


@pytest.fixture(scope="session")
def _upstream_server() -> Iterator[HTTPServer]:
    yield from threaded_server("127.0.0.1")


@pytest.fixture(scope="session")
def _media_server() -> Iterator[HTTPServer]:
    yield from threaded_server("127.0.0.2")


@pytest.fixture
def upstream(_upstream_server: HTTPServer) -> Iterator[HTTPServer]:
    """The upstream's HTTP server on 127.0.0.1 (threaded: the gateway sends requests in parallel)."""
    yield _upstream_server
    _upstream_server.clear()


@pytest.fixture
def media_server(_media_server: HTTPServer) -> Iterator[HTTPServer]:
    """A media host on 127.0.0.2, a second loopback address (``--allow-private-media`` lets it be fetched)."""
    yield _media_server
    _media_server.clear()


@pytest.fixture
def fake(upstream: HTTPServer) -> FakeV3:
    return FakeV3(upstream, token=TOKEN)


@pytest.fixture
def gateway(fake: FakeV3, tmp_path: Path) -> Iterator[GatewayServer]:
    """A gateway in this process, in front of ``fake``, on a free 127.0.0.1 port."""
    with GatewayServer(fake.base_url, store=tmp_path / "state.sqlite3", **GATEWAY_OPTIONS) as server:
        yield server
