"""Fixtures for the fleet tests: a threaded fake V3 upstream and a media host, one each per run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fleet_processes import threaded_server
from pytest_httpserver import HTTPServer


@pytest.fixture(scope="session")
def _fleet_upstream() -> Iterator[HTTPServer]:
    yield from threaded_server("127.0.0.1")


@pytest.fixture(scope="session")
def _fleet_media() -> Iterator[HTTPServer]:
    yield from threaded_server("127.0.0.2")


@pytest.fixture
def upstream(_fleet_upstream: HTTPServer) -> Iterator[HTTPServer]:
    """The upstream's HTTP server (threaded: replicas and their workers call at once)."""
    yield _fleet_upstream
    _fleet_upstream.clear()


@pytest.fixture
def media_server(_fleet_media: HTTPServer) -> Iterator[HTTPServer]:
    """A media host on 127.0.0.2 for ``media_source`` URLs (gateways need ``--allow-private-media``)."""
    yield _fleet_media
    _fleet_media.clear()
