"""Fixtures of the fault matrix, and ``--full-matrix`` (see :mod:`full_matrix`).

Every case checks the same things: the bytes upstream are identical to the source, there is no second
upload or session, nothing hangs (each call runs under :func:`rel_helpers.bounded`), and where giving
up is right the error is typed and clear. The default run is a fast subset; ``--full-matrix`` (or
``SCRIPTIX_COMPAT_FULL=1``) runs every combination.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_v3 import FakeV3
from full_matrix import FAST, FULL, KIB, Matrix, add_option, is_full
from peer_guard import require_tus_peer
from pytest_httpserver import HTTPServer
from rel_helpers import TOKEN
from tus_server import TusServer

from compat.emulator import Emulator


def pytest_addoption(parser: pytest.Parser) -> None:
    add_option(parser)


@pytest.fixture(scope="session")
def matrix(pytestconfig: pytest.Config) -> Matrix:
    return FULL if is_full(pytestconfig) else FAST


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``seed``, ``drop_case`` and ``kill_fraction`` take the values of the run's matrix (no skips)."""
    chosen = FULL if is_full(metafunc.config) else FAST
    if "seed" in metafunc.fixturenames:
        metafunc.parametrize("seed", chosen.seeds, ids=[f"seed{s}" for s in chosen.seeds])
    if "drop_case" in metafunc.fixturenames:
        ids = [f"{size // KIB}KiB-chunk{chunk // KIB}KiB" for size, chunk in chosen.drop_cases]
        metafunc.parametrize("drop_case", chosen.drop_cases, ids=ids)
    if "kill_fraction" in metafunc.fixturenames:
        metafunc.parametrize("kill_fraction", chosen.kill_fractions, ids=[f"at{f:g}" for f in chosen.kill_fractions])


@pytest.fixture
def emu() -> Iterator[Emulator]:
    """A V3 emulator on 127.0.0.1; results take long enough that no lifecycle timer runs during a test."""
    with Emulator(processing_delay=30) as emulator:
        yield emulator


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeV3:
    """The scripted V3 fake (any status, on any step)."""
    return FakeV3(httpserver, token=TOKEN)


@pytest.fixture
def source(tmp_path: Path) -> tuple[Path, bytes]:
    """A 300 KiB (+ 17 bytes) audio file: five chunks and a bit."""
    data = os.urandom(300 * KIB + 17)
    path = tmp_path / "talk.wav"
    path.write_bytes(data)
    return path, data


@pytest.fixture
def tus_peer(tmp_path: Path) -> Iterator[TusServer]:
    """The official ``@tus/server`` (it keeps uploads on disk, so they survive a restart)."""
    require_tus_peer()
    with TusServer(tmp_path / "tus-data") as server:
        yield server
