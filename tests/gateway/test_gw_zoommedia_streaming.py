"""A 1 GiB Zoom Media multipart upload through the gateway streams (issue 14, with issue 12's server).

The gateway runs as its own process (``scriptix-compat gateway --workers 1``) in front of the TUS sink
(``tests/sink_tus_server.py``, its own process too: it streams PATCH bodies to disk and takes deferred
lengths). A paced client sends one multipart body, generated on the fly (no 1 GiB file anywhere but the
sink's copy), whose ``upload`` part is 1 GiB. The part's length is not known while it arrives, so it
goes up as a deferred-length TUS upload: the first PATCH reaches the sink long before the client has
sent the body, the gateway's resident memory stays under 150 MiB (read from ``/proc/<pid>/status``), and
its ``TMPDIR`` never holds more than a chunk.
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
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from gateway_helpers import REPO, TOKEN, GatewayProcess

MiB = 1024 * 1024
SIZE = 1024 * MiB
RATE = 96 * MiB  # bytes a second the client sends at most
RSS_LIMIT = 150 * MiB
BOUNDARY = "zoom-media-boundary-5f1c"
BLOCK = bytes(range(256)) * (MiB // 256)  # holds neither CR LF nor "--": never a boundary

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads /proc (Linux)")


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    directory = tmp_path / "sink"
    directory.mkdir()
    process = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "sink_tus_server.py"), str(directory)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        port = json.loads(process.stdout.readline())["port"]
        yield f"http://127.0.0.1:{port}", directory
    finally:
        process.terminate()
        process.wait(10)


@dataclass
class Sampler:
    """Every 20 ms: the gateway's resident memory, the largest file in its TMPDIR, the sink's bytes."""

    pid: int
    tmpdir: Path
    sink_dir: Path
    start: float
    sent: list[int]
    peak_rss: int = 0
    largest_spool: int = 0
    first_patch: tuple[float, int] | None = None  # (seconds, bytes the client had sent) at the first bytes
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> Sampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak_rss = max(self.peak_rss, rss(self.pid))
            for path in self.tmpdir.rglob("*"):
                try:
                    self.largest_spool = max(self.largest_spool, path.stat().st_size)
                except OSError:
                    continue
            if self.first_patch is None and any(p.stat().st_size > 0 for p in self.sink_dir.iterdir()):
                self.first_patch = (time.monotonic() - self.start, self.sent[0])


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def multipart_upload(url: str, session_id: str, sent: list[int], start: float) -> bytes:
    """POST the multipart body at ``RATE`` at most, counting what went out in ``sent[0]``; the answer."""
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="upload"; filename="big.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    request = (
        f"POST /api/v2/speech-to-text/session/{session_id} HTTP/1.1\r\nHost: gateway\r\n"
        f"X-Zoom-S2T-Key: {TOKEN}\r\nUser-Agent: ZoomAPI/PythonClient\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {len(head) + SIZE + len(tail)}\r\n\r\n"
    ).encode()
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=120) as sock:
        sock.sendall(request + head)
        while sent[0] < SIZE:
            sock.sendall(BLOCK)
            sent[0] += len(BLOCK)
            ahead = sent[0] / RATE - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
        sock.sendall(tail)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            block = sock.recv(65536)
            if not block:
                break
            answer += block
        return answer


def test_a_1_gib_multipart_upload_streams_through_the_gateway_in_bounded_memory(
    sink: tuple[str, Path], tmp_path: Path
) -> None:
    sink_url, sink_dir = sink
    tmpdir = tmp_path / "gateway-tmp"
    tmpdir.mkdir()
    gateway = GatewayProcess(
        sink_url,
        tmp_path / "state.sqlite3",
        "--workers",
        "1",
        env={"SCRIPTIX_COMPAT_CHUNK_SIZE": "8MiB", "TMPDIR": str(tmpdir)},
    )
    try:
        created = requests.post(
            f"{gateway.url}/api/v2/speech-to-text/session/",
            json={"language": "en-us"},
            headers={"X-Zoom-S2T-Key": TOKEN},
            timeout=30,
        )
        assert created.status_code == 200, created.text
        session_id = created.json()["zoom_id"]
        start, sent = time.monotonic(), [0]
        with Sampler(gateway.process.pid, tmpdir, sink_dir, start, sent) as sampler:
            answer = multipart_upload(gateway.url, session_id, sent, start)
            elapsed = time.monotonic() - start
    finally:
        gateway.terminate()
        gateway.wait(60)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), answer[:500]
    assert json.loads(body) == {"language": "en-us", "sessionId": session_id, "zoom_id": session_id}
    assert sampler.first_patch is not None
    seconds, client_sent = sampler.first_patch
    assert client_sent < SIZE // 2, (seconds, client_sent)  # the first PATCH left long before the body ended
    assert sampler.peak_rss < RSS_LIMIT, f"peak RSS {sampler.peak_rss / MiB:.0f} MiB"
    assert sampler.largest_spool <= 8 * MiB + 64 * 1024  # at most the chunk in flight, never the body
    (stored,) = list(sink_dir.iterdir())
    assert stored.stat().st_size == SIZE
    digest, expected = hashlib.sha256(), hashlib.sha256()
    with open(stored, "rb") as copy:
        while block := copy.read(8 * MiB):
            digest.update(block)
    for _ in range(SIZE // MiB):
        expected.update(BLOCK)
    assert digest.digest() == expected.digest()
    print(
        f"1 GiB multipart upload in {elapsed:.1f} s; first PATCH at {seconds:.2f} s "
        f"({client_sent / MiB:.0f} MiB sent); gateway peak RSS {sampler.peak_rss / MiB:.0f} MiB"
    )


@pytest.mark.parametrize("stall", ["before the upload part", "in the upload part"])
def test_a_multipart_body_that_stalls_gets_408_in_the_zoom_shape_and_the_session_takes_it_again(
    stall: str, tmp_path: Path
) -> None:
    from fake_v3 import FakeV3
    from pytest_httpserver import HTTPServer

    from compat.gateway import GatewayServer

    upstream = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    upstream.start()
    try:
        fake = FakeV3(upstream, token=TOKEN, defer_length=True)
        media = os.urandom(600 * 1024)
        head = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="upload"; filename="talk.wav"\r\n\r\n').encode()
        body = head + media + f"\r\n--{BOUNDARY}--\r\n".encode()
        sent = body[: len(head) // 2] if stall == "before the upload part" else body[: len(head) + 300 * 1024]
        with GatewayServer(
            fake.base_url, store=tmp_path / "s.sqlite3", chunk_size=64 * 1024, body_idle_timeout=1.0
        ) as gateway:
            session_id = requests.post(
                f"{gateway.url}/api/v2/speech-to-text/session",
                json={"language": "en-us"},
                headers={"X-Zoom-S2T-Key": TOKEN},
                timeout=10,
            ).json()["zoom_id"]
            request = (
                f"POST /api/v2/speech-to-text/session/{session_id} HTTP/1.1\r\nHost: gw\r\nX-Zoom-S2T-Key: {TOKEN}\r\n"
                f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode()
            host, port = gateway.url.removeprefix("http://").split(":")
            with socket.create_connection((host, int(port)), timeout=20) as sock:
                sock.sendall(request + sent)  # then nothing
                answer = b""
                while not answer.rstrip().endswith(b"}"):
                    block = sock.recv(65536)
                    if not block:
                        break
                    answer += block
            status_line, _, rest = answer.partition(b"\r\n")
            assert status_line.startswith(b"HTTP/1.1 408"), answer
            assert b"connection: close" in rest.lower()
            error = json.loads(rest.partition(b"\r\n\r\n")[2])
            assert error["error"] == "request-timeout" and "no body bytes for 1 s" in error["error_message"]
            again = requests.post(
                f"{gateway.url}/api/v2/speech-to-text/session/{session_id}",
                files={"upload": ("talk.wav", media)},
                headers={"X-Zoom-S2T-Key": TOKEN},
                timeout=30,
            )
        assert again.status_code == 200, again.text
        assert [bytes(u.data) for u in fake.uploads.values() if u.complete] == [media]
    finally:
        upstream.clear()
        upstream.stop()
