"""Fixtures for the shim's Zoom Media tests: a fake V3 (legacy calls refused), the emulator in V3 mode."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_v3 import FakeV3
from pytest_httpserver import HTTPServer
from zm_helpers import OTHER, TOKEN, TRANSCRIPTS, finish_when_uploaded

from compat.emulator import DEFAULT_LANGUAGES, Emulator


@pytest.fixture
def upstream() -> Iterator[HTTPServer]:
    """A threaded HTTP server on 127.0.0.1 for the fake V3 (the gateway sends requests in parallel)."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        server.stop()


@pytest.fixture
def fake(upstream: HTTPServer) -> FakeV3:
    """V3 as documented; its Zoom Media and V1-only routes answer 410 and are recorded in ``v1_calls``."""
    fake = FakeV3(upstream, token=TOKEN)
    finish_when_uploaded(fake)
    return fake


@pytest.fixture
def v3_emulator() -> Iterator[Emulator]:
    """The emulator in V3 mode (its Zoom Media routes answer 410), with the tokens and languages of its
    legacy mode, so that it refuses what the old API refused."""
    with Emulator(
        processing_delay=0.05, transcripts=TRANSCRIPTS, tokens=[TOKEN, OTHER], languages=DEFAULT_LANGUAGES
    ) as emulator:
        yield emulator
