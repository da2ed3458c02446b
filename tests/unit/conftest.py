"""Fixtures shared by the unit tests."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def sink_upstream(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``tests/sink_tus_server.py`` in its own process (so it never counts in a memory figure):
    its URL and the folder where uploads land (``u1``, ``u2``, ...)."""
    directory = tmp_path / "sink"
    directory.mkdir()
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).parents[1] / "sink_tus_server.py"), str(directory)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = json.loads(process.stdout.readline())["port"]
        yield f"http://127.0.0.1:{port}", directory
    finally:
        process.terminate()
        process.wait(5)
