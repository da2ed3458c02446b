"""The gateway hands a PUT's body to the upload as it arrives (issue 12, items 2 and 3).

Twice: the real gateway (a process, its server and workers) with a paced client on a socket, and
the WSGI application alone given what a streaming server gives it (a ``wsgi.input`` that cannot
seek, fed through a pipe, and ``CONTENT_LENGTH``). The upstream is ``tests/sink_tus_server.py`` in
its own process. The first PATCH bytes must reach the upstream before the client has sent half of
the body, ``TMPDIR`` must never hold more than one chunk, and the upstream's bytes must be the body's.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fleet_processes import descendants, kill_every_process_of
from gateway_helpers import SESSIONS, TOKEN, GatewayProcess
from test_gw_resume import Sink, create_session, sha256_of_file

from compat.gateway import make_app

MiB = 1024 * 1024
SIZE = 256 * MiB
CHUNK = 16 * MiB  # above the 8 MiB kept in memory: the chunk in flight is kept in one TMPDIR file
RATE = 96 * MiB  # bytes a second the client sends at most

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads /proc (Linux)")


class Spool:
    """Samples the largest file under ``directory``, listed or held open (temporary files are
    unlinked) by this process or by ``pid`` and the processes below it."""

    def __init__(self, directory: Path, pid: int | None = None) -> None:
        self.directory = str(directory)
        self.pid = pid
        self.largest = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Spool:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            pids = ["self"] if self.pid is None else [str(p) for p in (self.pid, *descendants(self.pid))]
            for pid in pids:
                try:
                    fds = os.listdir(f"/proc/{pid}/fd")
                except OSError:
                    continue
                for fd in fds:
                    try:
                        if os.readlink(f"/proc/{pid}/fd/{fd}").startswith(self.directory):
                            self.largest = max(self.largest, os.stat(f"/proc/{pid}/fd/{fd}").st_size)
                    except OSError:
                        continue
            for entry in os.scandir(self.directory):
                try:
                    self.largest = max(self.largest, entry.stat().st_size)
                except OSError:
                    continue


def pattern(size: int) -> tuple[bytes, str]:
    """A body that is not all one byte, made fast: 1 MiB of random bytes, each MiB shifted."""
    block = os.urandom(MiB)
    digest = hashlib.sha256()
    for index in range(size // MiB):
        digest.update(block[index % 251 :] + block[: index % 251])
    return block, digest.hexdigest()


def paced_put(url: str, session_id: str, block: bytes, sink: Sink, marks: dict[str, Any]) -> tuple[int, Any]:
    """Send a ``SIZE``-byte PUT at ``RATE`` at most; at half of it, note the upstream's PATCH bytes."""
    host, port = url.removeprefix("http://").split(":")
    head = (
        f"PUT {SESSIONS}/{session_id} HTTP/1.1\r\nHost: {host}\r\nx-zoom-s2t-key: {TOKEN}\r\n"
        f"Content-Type: audio/wav\r\nx-filename: talk.wav\r\nContent-Length: {SIZE}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=120) as sock:
        started = time.monotonic()
        sock.sendall(head)
        marks["first_byte"] = time.monotonic()
        for index in range(SIZE // MiB):
            if index * MiB == SIZE // 2:
                marks["patched_at_half"] = sink.stats()["patched"]
            sock.sendall(block[index % 251 :] + block[: index % 251])
            ahead = (index + 1) * MiB / RATE - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            block_in = sock.recv(65536)
            if not block_in:
                break
            answer += block_in
    head_part, _, rest = answer.partition(b"\r\n\r\n")
    return int(head_part.split()[1]), json.loads(rest)


def test_a_256_mib_put_through_the_gateway_goes_up_as_it_arrives_with_one_chunk_in_tmpdir(
    tmp_path: Path,
) -> None:
    spool_dir = tmp_path / "tmp"
    spool_dir.mkdir()
    (tmp_path / "sink").mkdir()
    sink = Sink(tmp_path / "sink")
    env = {"SCRIPTIX_COMPAT_CHUNK_SIZE": str(CHUNK), "TMPDIR": str(spool_dir)}
    gateway = GatewayProcess(sink.url, tmp_path / "state.sqlite3", env=env)
    try:
        session_id = create_session(gateway)
        block, expected = pattern(SIZE)
        marks: dict[str, Any] = {}
        with Spool(spool_dir, gateway.process.pid) as spool:
            status, answer = paced_put(gateway.url, session_id, block, sink, marks)
        assert status == 200, f"{answer}\n{gateway.log()}"
        assert answer["result"]["status"] == "uploaded"
        assert marks["patched_at_half"] > 0, "no PATCH byte had reached the upstream when half the body was sent"
        assert spool.largest <= CHUNK, f"TMPDIR held {spool.largest} bytes at once"
        stats = sink.stats()
        assert stats["created"] == 1 and stats["patched"] == SIZE
        assert sha256_of_file(sink.directory / "u1") == expected
    finally:
        kill_every_process_of(gateway)
        sink.stop()


def test_the_application_hands_a_256_mib_streamed_put_to_its_upload_as_it_arrives(
    tmp_path: Path, monkeypatch: Any
) -> None:
    spool_dir = tmp_path / "tmp"
    spool_dir.mkdir()
    monkeypatch.setenv("TMPDIR", str(spool_dir))
    monkeypatch.setattr(tempfile, "tempdir", str(spool_dir))
    (tmp_path / "sink").mkdir()
    sink = Sink(tmp_path / "sink")
    app = make_app(sink.url, store=tmp_path / "state.sqlite3", chunk_size=CHUNK, backoff_base=0.001)
    try:
        session_id = _create(app)
        block, expected = pattern(SIZE)
        read_end, write_end = os.pipe()
        marks: dict[str, Any] = {}

        def client() -> None:
            started = time.monotonic()
            with open(write_end, "wb", buffering=0) as pipe:
                for index in range(SIZE // MiB):
                    if index * MiB == SIZE // 2:
                        marks["patched_at_half"] = sink.stats()["patched"]
                    pipe.write(block[index % 251 :] + block[: index % 251])
                    ahead = (index + 1) * MiB / RATE - (time.monotonic() - started)
                    if ahead > 0:
                        time.sleep(ahead)

        sender = threading.Thread(target=client, daemon=True)
        with Spool(spool_dir) as spool, open(read_end, "rb", buffering=0) as body:
            sender.start()
            status, answer = _call(
                app,
                "PUT",
                f"{SESSIONS}/{session_id}",
                body,
                {
                    "CONTENT_LENGTH": str(SIZE),
                    "CONTENT_TYPE": "audio/wav",
                    "HTTP_X_FILENAME": "talk.wav",
                },
            )
            sender.join(60)
        assert status.startswith("200"), answer
        assert answer["result"]["status"] == "uploaded"
        assert marks["patched_at_half"] > 0, "no PATCH byte had reached the upstream when half the body was sent"
        assert spool.largest <= CHUNK, f"TMPDIR held {spool.largest} bytes at once"
        stats = sink.stats()
        assert stats["created"] == 1 and stats["patched"] == SIZE
        assert sha256_of_file(sink.directory / "u1") == expected
    finally:
        app.close()
        sink.stop()


def _create(app: Any) -> str:
    status, answer = _call(
        app, "POST", SESSIONS, io.BytesIO(b'{"language": "en"}'), {"CONTENT_TYPE": "application/json"}
    )
    assert status.startswith("200"), answer
    return str(answer["result"]["session_id"])


def _call(app: Any, method: str, path: str, body: Any, extra: dict[str, str]) -> tuple[str, Any]:
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_X_ZOOM_S2T_KEY": TOKEN,
        "wsgi.input": body,
        "wsgi.url_scheme": "http",
        "CONTENT_LENGTH": str(len(body.getvalue())) if isinstance(body, io.BytesIO) else "",
        **extra,
    }
    seen: list[str] = []
    chunks = app(environ, lambda status, headers: seen.append(status))
    try:
        content = b"".join(chunks)
    finally:
        getattr(chunks, "close", lambda: None)()
    return seen[0], json.loads(content)
