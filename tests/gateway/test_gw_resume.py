"""A gateway SIGKILLed mid-PUT, and the same PUT sent again (issue 12 item 3, issue 13's replica case).

The upstream is ``tests/sink_tus_server.py`` in its own process, read at a bounded rate so that the
kill lands mid-upload; it keeps the bytes of a PATCH cut off midway (as real TUS servers do) and
counts every PATCH body byte it received, terminated uploads included. The gateways are real
processes on one store (a SQLite file; for the replicas also a PostgreSQL database); the kill is
SIGKILL, so nothing is cleaned up: the claim stays held by a dead process, the upload half done,
its receipts in the store.

After the retry: exactly one upload upstream, its bytes the body's, and the upstream received at
most one chunk more than the file (the chunk in flight at the kill may land without a receipt: its
bytes are trusted once every receipt before them matched, so nothing is sent twice).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from fleet_processes import kill_every_process_of
from gateway_helpers import SESSIONS, TOKEN, GatewayProcess
from store_backends import Backend

MiB = 1024 * 1024
SIZE = 128 * MiB
CHUNK = 4 * MiB
RATE = 64 * MiB  # bytes a second the upstream reads PATCH bodies at, at most
SINK = Path(__file__).resolve().parents[1] / "sink_tus_server.py"
ENV = {"SCRIPTIX_COMPAT_CHUNK_SIZE": str(CHUNK)}

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="SIGKILL and /proc (Linux)")


class Sink:
    """The upstream: its URL, its folder of uploads (``u1``, ``u2``, ...) and what it received."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.process = subprocess.Popen(
            [sys.executable, str(SINK), str(directory), str(RATE)], stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        self.url = f"http://127.0.0.1:{json.loads(self.process.stdout.readline())['port']}"

    def stats(self) -> dict[str, Any]:
        return dict(requests.get(f"{self.url}/_sink/stats", timeout=10).json())

    def digest(self, upload_id: str) -> str:
        return sha256_of_file(self.directory / upload_id)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(MiB):
            digest.update(block)
    return digest.hexdigest()


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[Sink]:
    directory = tmp_path / "sink"
    directory.mkdir()
    server = Sink(directory)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def body() -> bytes:
    return os.urandom(SIZE)


def create_session(gateway: GatewayProcess) -> str:
    answer = requests.post(gateway.url + SESSIONS, json={"language": "en"}, headers={"x-zoom-s2t-key": TOKEN})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["result"]["session_id"])


def put(url: str, session_id: str, data: bytes) -> tuple[int, Any]:
    """A PUT sent on a raw socket, 1 MiB a write; (status, JSON) or (0, the error) when the gateway died."""
    host, port = url.removeprefix("http://").split(":")
    head = (
        f"PUT {SESSIONS}/{session_id} HTTP/1.1\r\nHost: {host}\r\nx-zoom-s2t-key: {TOKEN}\r\n"
        f"Content-Type: audio/wav\r\nx-filename: talk.wav\r\nContent-Length: {len(data)}\r\n\r\n"
    ).encode()
    try:
        with socket.create_connection((host, int(port)), timeout=120) as sock:
            sock.sendall(head)
            view = memoryview(data)
            for start in range(0, len(data), MiB):
                sock.sendall(view[start : start + MiB])
            answer = b""
            while True:
                block = sock.recv(65536)
                if not block:
                    break
                answer += block
                head_part, _, rest = answer.partition(b"\r\n\r\n")
                length = [
                    int(line.split(b":")[1])
                    for line in head_part.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ]
                if length and len(rest) >= length[0]:
                    break
    except OSError as exc:
        return 0, exc
    head_part, _, rest = answer.partition(b"\r\n\r\n")
    if not head_part:
        return 0, "no answer"
    return int(head_part.split()[1]), json.loads(rest or b"{}")


def put_and_kill_at(gateway: GatewayProcess, sink: Sink, session_id: str, data: bytes, share: float) -> int:
    """PUT ``data`` through ``gateway`` and SIGKILL it once the upstream has ``share`` of the bytes;
    the bytes the upstream then holds."""
    outcome: list[tuple[int, Any]] = []
    sender = threading.Thread(target=lambda: outcome.append(put(gateway.url, session_id, data)), daemon=True)
    sender.start()
    deadline = time.monotonic() + 120
    while sink.stats()["patched"] < share * len(data):
        assert time.monotonic() < deadline, "the upload never got going:\n" + gateway.log()
        assert sender.is_alive(), f"the PUT ended before the kill: {outcome}"
        time.sleep(0.01)
    kill_every_process_of(gateway)
    sender.join(30)
    assert outcome and outcome[0][0] == 0, f"the killed gateway answered: {outcome}"
    settled, last = 0, -1
    while settled < 3:  # the upstream finishes writing what arrived of the PATCH cut off
        time.sleep(0.1)
        patched = sink.stats()["patched"]
        settled, last = (settled + 1, last) if patched == last else (0, patched)
    held = (sink.directory / "u1").stat().st_size
    assert 0 < held < len(data)
    return held


def assert_one_upload_of(sink: Sink, data: bytes) -> dict[str, Any]:
    stats = sink.stats()
    assert stats["created"] == 1 and stats["terminated"] == []
    assert sink.digest("u1") == hashlib.sha256(data).hexdigest()
    assert stats["patched"] <= len(data) + CHUNK, f"{stats['patched'] - len(data)} bytes more than the file"
    return stats


def session_put_killed_at(sink: Sink, store: Path, data: bytes, share: float) -> tuple[str, int]:
    """A session created through a gateway on ``store``, whose PUT of ``data`` is cut by SIGKILLing
    that gateway at ``share`` of the bytes: the session id and the bytes the upstream then holds."""
    first = GatewayProcess(sink.url, store, env=ENV)
    try:
        session_id = create_session(first)
        return session_id, put_and_kill_at(first, sink, session_id, data, share)
    finally:
        kill_every_process_of(first)


def test_a_gateway_killed_at_40_percent_of_a_put_is_restarted_and_the_same_put_resumes(
    sink: Sink, body: bytes, tmp_path: Path
) -> None:
    store = tmp_path / "state.sqlite3"
    session_id, held = session_put_killed_at(sink, store, body, 0.4)
    restarted = GatewayProcess(sink.url, store, env=ENV)
    try:
        status, answer = put(restarted.url, session_id, body)
        assert status == 200, f"{answer}\n{restarted.log()}"
        assert answer["result"]["status"] == "uploaded" and answer["result"]["session_id"] == session_id
        stats = assert_one_upload_of(sink, body)
        # Nothing below the offset held at the kill was sent again.
        assert stats["patched"] == len(body), (held, stats)
        # A retry once the upstream has it all: the V1 200, nothing sent.
        assert put(restarted.url, session_id, body)[0] == 200
        assert sink.stats()["patched"] == stats["patched"]
    finally:
        kill_every_process_of(restarted)


def test_a_retried_put_whose_body_differs_starts_a_new_upload_and_terminates_the_old(
    sink: Sink, body: bytes, tmp_path: Path
) -> None:
    store = tmp_path / "state.sqlite3"
    session_id, held = session_put_killed_at(sink, store, body, 0.4)
    other = bytearray(body)
    other[SIZE // 5] ^= 0xFF  # inside the bytes the first attempt sent
    restarted = GatewayProcess(sink.url, store, env=ENV)
    try:
        status, answer = put(restarted.url, session_id, bytes(other))
        assert status == 200, f"{answer}\n{restarted.log()}"
        stats = sink.stats()
        assert stats["created"] == 2 and stats["terminated"] == ["u1"]
        assert not (sink.directory / "u1").exists()
        assert sink.digest("u2") == hashlib.sha256(other).hexdigest()
        assert stats["patched"] <= held + len(other) + CHUNK
        # The session's media is now the new body: the first one again is refused.
        status, answer = put(restarted.url, session_id, body)
        assert status == 400 and answer == {"error": "Invalid data: media was already uploaded for this session"}
    finally:
        kill_every_process_of(restarted)


def test_replica_a_killed_mid_put_and_the_client_retries_on_replica_b(
    sink: Sink, body: bytes, store_backend: Backend
) -> None:
    store = store_backend.value  # one SQLite file, or one PostgreSQL database, shared by both replicas
    replica_a = GatewayProcess(sink.url, store, env=ENV)
    replica_b = GatewayProcess(sink.url, store, env=ENV)
    try:
        session_id = create_session(replica_a)
        put_and_kill_at(replica_a, sink, session_id, body, 0.4)
        started = time.monotonic()
        status, answer = put(replica_b.url, session_id, body)
        assert status == 200, f"{answer}\n{replica_b.log()}"
        assert time.monotonic() - started < 25, "replica B waited for the dead holder's lease"
        stats = assert_one_upload_of(sink, body)
        assert stats["patched"] == len(body)
    finally:
        kill_every_process_of(replica_a)
        kill_every_process_of(replica_b)
