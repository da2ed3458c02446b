"""Fixtures of the security suite: a loopback-only network, the scripted V3 fake, a media host.

``--full-matrix`` (see tests/reliability/full_matrix.py) is accepted here too.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from sec_helpers import fake, net

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reliability"))
from full_matrix import add_option

__all__ = ["fake", "net"]  # fixtures shared with tests/property


def pytest_addoption(parser: pytest.Parser) -> None:
    add_option(parser)


@pytest.fixture(scope="session")
def _media_host() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.2", port=0, threaded=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def media_host(_media_host: HTTPServer) -> Iterator[HTTPServer]:
    """A media host on 127.0.0.2, the address the tests treat as public (``also_allow``)."""
    yield _media_host
    _media_host.clear()
