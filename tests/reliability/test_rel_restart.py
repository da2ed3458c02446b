"""The upstream restarts in the middle of an upload.

``@tus/server`` keeps its uploads on disk (``@tus/file-store``), so after a restart on the same
directory the shim's HEAD finds the offset and the upload goes on: one upload, identical bytes, the
V1 call succeeds. The restarts are graceful (SIGTERM) and, in the full matrix, also SIGKILL, at
seeded offsets. The emulator keeps its state in memory only: after its restart the upload and the
session are gone, and the V1 call ends in a typed 404 in bounded time without a new upload.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from pathlib import Path

import pytest
from full_matrix import Matrix
from rel_helpers import MIB, bounded, legacy
from tus_server import TusServer

from compat import NotFoundError
from compat.emulator import Emulator

CHUNK = 256 * 1024
DOWN = 0.3  # seconds the upstream is away: several attempts find the port closed


def restart(server: TusServer, *, kill: bool) -> None:
    if kill:
        server.kill()
    else:
        server.stop()
    time.sleep(DOWN)
    server.start()


def test_upload_through_legacy_client_survives_upstream_restarts(
    tus_peer: TusServer, tmp_path: Path, matrix: Matrix, seed: int
) -> None:
    size = (16 if matrix.full else 2) * MIB + 11
    data = random.Random(seed).randbytes(size)
    path = tmp_path / "talk.wav"
    path.write_bytes(data)
    rng = random.Random(seed)
    points = sorted(rng.sample(range(CHUNK, size - CHUNK), matrix.restarts))
    client = legacy(
        tus_peer.base_url,
        tmp_path / "s.sqlite3",
        chunk_size=CHUNK,
        backoff_base=0.05,
        backoff_max=1.0,
        max_retries=8,
        timeout=5,
    )
    session_id = client.create_session("en")["result"]["session_id"]
    restarters: list[threading.Thread] = []

    def on_progress(done: int, total: int) -> None:
        if points and done >= points[0] and all(not t.is_alive() for t in restarters):
            points.pop(0)
            kill = matrix.full and len(restarters) % 2 == 1
            restarters.append(threading.Thread(target=restart, args=(tus_peer,), kwargs={"kill": kill}, daemon=True))
            restarters[-1].start()

    answer, error, _ = bounded(90, lambda: client.upload(session_id, path, on_progress=on_progress))
    for thread in restarters:
        thread.join(30)
    assert error is None, f"{error!r}\n{tus_peer.log()[-2000:]}"
    assert answer is not None and answer["result"]["status"] == "uploaded"
    assert len(restarters) == matrix.restarts, "the upstream was not restarted as planned"
    [stored] = tus_peer.uploads()
    assert stored.complete and stored.read_bytes() == data
    assert stored.metadata["session_id"] == session_id
    assert client.v3.store.pending_uploads() == []


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_emulator_restart_loses_the_upload_and_the_session_and_says_so_with_a_404(
    tmp_path: Path, source: tuple[Path, bytes]
) -> None:
    path, _ = source
    port = _free_port()
    storage = tmp_path / "emulator"
    first = Emulator(port=port, storage_dir=storage, processing_delay=30).start()
    second: list[Emulator] = []
    client = legacy(first.url, tmp_path / "s.sqlite3", backoff_base=0.05, backoff_max=1.0, max_retries=8, timeout=5)
    session_id = client.create_session("en")["result"]["session_id"]

    def restart_emulator() -> None:
        first.stop()
        time.sleep(DOWN)
        second.append(Emulator(port=port, storage_dir=storage, processing_delay=30).start())

    restarter = threading.Thread(target=restart_emulator, daemon=True)

    def on_progress(done: int, total: int) -> None:
        if done >= 64 * 1024 and not restarter.is_alive() and not second:
            restarter.start()

    try:
        _, error, _ = bounded(30, lambda: client.upload(session_id, path, on_progress=on_progress))
        restarter.join(10)
        assert second, "the emulator was not restarted"
        # What survives: the bytes stay in storage_dir, but the emulator's state (sessions, uploads) was memory.
        assert second[0].sessions == {} and second[0].uploads == {}
        assert isinstance(error, NotFoundError), repr(error)
        assert error.status_code == 404 and error.body["error"]
        with pytest.raises(NotFoundError):
            client.get_result(session_id)
    finally:
        first.stop()
        for emulator in second:
            emulator.stop()
