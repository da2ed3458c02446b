"""Helpers shared by the benchmark's parent process and its workers.

A few standard modules only: a worker imports this before its contender's library, so what it
costs is part of every contender's baseline alike (and it costs almost nothing).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO / "bench"
DATA_DIR = BENCH_DIR / "data"
TESTS_DIR = REPO / "tests"

KIB = 1024
MIB = 1024 * 1024
GIB = 1024 * MIB
HASH_BLOCK = 8 * MIB
TOKEN = "bench-token"
SESSIONS_PATH = "/api/v3/speech-to-text/session"

_SIZE_UNITS = {"": 1, "b": 1, "kib": KIB, "mib": MIB, "gib": GIB, "kb": 1000, "mb": 1000**2, "gb": 1000**3}
_SIZE = re.compile(r"^\s*(\d+)\s*([a-zA-Z]*)\s*$")


def parse_size(text: str) -> int:
    """``"1GiB"``, ``"64MiB"``, ``"500MB"`` or ``"1048576"`` in bytes."""
    match = _SIZE.match(text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _SIZE_UNITS or int(match.group(1)) <= 0:
        raise ValueError(f"invalid size {text!r} (try 1GiB, 64MiB, 500MB or a byte count)")
    return int(match.group(1)) * _SIZE_UNITS[unit]


def size_label(size: int) -> str:
    """``1073741824`` -> ``"1 GiB"``; sizes that are not whole MiB/GiB in bytes."""
    for unit, factor in (("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} B"


def proc_status_kib(field: str, pid: int | str = "self") -> int:
    """A ``kB`` field of ``/proc/<pid>/status`` (``VmRSS``, ``VmHWM``) in KiB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not found in /proc/{pid}/status")


def sha256_file(path: Path) -> str:
    """sha256 of a file, read in 8 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def make_source(path: Path, size: int) -> str:
    """Write ``size`` random bytes to ``path`` in 8 MiB blocks; return their sha256."""
    digest = hashlib.sha256()
    remaining = size
    with path.open("wb") as stream:
        while remaining:
            block = os.urandom(min(HASH_BLOCK, remaining))
            digest.update(block)
            stream.write(block)
            remaining -= len(block)
    return digest.hexdigest()


def emit(record: dict[str, Any]) -> None:
    """A worker's result: one JSON line on stdout."""
    print(json.dumps(record), flush=True)


class Stopwatch:
    """Wall-clock and CPU (user+system, all threads) seconds of a ``with`` block, and when it started."""

    seconds: float
    cpu_seconds: float
    started_at: float

    def __enter__(self) -> Stopwatch:
        self.started_at = time.time()
        self._wall = time.perf_counter()
        self._cpu = time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._wall
        self.cpu_seconds = time.process_time() - self._cpu


class FirstRead:
    """A file opened for a request body that notes when its first block was read (``first_read_at``,
    ``time.time()``): when the client starts sending the body. After that first read, ``read`` is the
    file's own (an instance attribute), so the timing costs nothing per block."""

    def __init__(self, path: str | Path) -> None:
        self._file = open(path, "rb")  # noqa: SIM115 - closed by close() / the with block
        self._size = os.fstat(self._file.fileno()).st_size
        self.first_read_at: float | None = None

    def read(self, size: int = -1) -> bytes:
        self.first_read_at = time.time()
        self.read = self._file.read  # type: ignore[method-assign]
        return self._file.read(size)

    def __len__(self) -> int:
        return self._size

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> FirstRead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
