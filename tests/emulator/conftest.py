"""Fixtures for the emulator tests: a started emulator per test, fast lifecycle, fast webhooks."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from compat.emulator import Emulator


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(processing_delay=0.2, webhook_speed=600) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def no_emulator_threads_left() -> Iterator[None]:
    """Every emulator a test started is stopped cleanly: none of its threads outlive the test."""
    yield
    deadline = time.monotonic() + 2.0
    while True:
        left = [t.name for t in threading.enumerate() if t.name.startswith("scriptix-emulator")]
        if not left:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"emulator threads still running after the test: {left}")
        time.sleep(0.02)
