"""The gateway streams request bodies (issue 12, item 1): a large PUT reaches the application's
``wsgi.input`` reads, and a proxied body reaches the upstream, long before the client has sent half
of it; the server stores no copy of the body in ``TMPDIR`` and its memory does not grow with it.
"""

from __future__ import annotations

import hashlib
import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from fake_v3 import FakeV3
from gateway_helpers import GATEWAY_OPTIONS, SESSIONS, TOKEN

from compat.gateway import GatewayServer
from compat.v1.models import envelope

MiB = 1024 * 1024
SIZE = 128 * MiB
RATE = 32 * MiB  # bytes a second the client sends at most
AUTH = {"x-zoom-s2t-key": TOKEN}


@dataclass
class Timeline:
    """(seconds since the start, bytes so far) marks of one side of a transfer."""

    start: float
    marks: list[tuple[float, int]] = field(default_factory=list)

    def mark(self, total: int) -> None:
        self.marks.append((time.monotonic() - self.start, total))

    def at(self, when: float) -> int:
        """Bytes so far at ``when`` (the last mark at or before it)."""
        done = 0
        for moment, total in self.marks:
            if moment > when:
                break
            done = total
        return done

    def when(self, total: int) -> float:
        """The first moment ``total`` bytes were reached."""
        return next(moment for moment, done in self.marks if done >= total)


def paced_send(url: str, head: bytes, size: int, timeline: Timeline) -> bytes:
    """Send ``head`` then ``size`` bytes at ``RATE`` at most, marking ``timeline``; the answer's bytes."""
    host, port = url.removeprefix("http://").split(":")
    block = bytes(range(256)) * (MiB // 256)
    with socket.create_connection((host, int(port)), timeout=60) as sock:
        sock.sendall(head)
        sent = 0
        while sent < size:
            sock.sendall(block)
            sent += len(block)
            timeline.mark(sent)
            ahead = sent / RATE - (time.monotonic() - timeline.start)
            if ahead > 0:
                time.sleep(ahead)
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += sock.recv(65536)
        return answer


@dataclass
class Watch:
    """Samples the temporary files this process holds under ``directory`` and its resident memory."""

    directory: Path
    largest_spool: int = 0
    peak_rss: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> Watch:
        self.base_rss = _rss()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak_rss = max(self.peak_rss, _rss() - self.base_rss)
            for fd in os.listdir("/proc/self/fd"):
                try:
                    target = os.readlink(f"/proc/self/fd/{fd}")
                    if target.startswith(str(self.directory)):
                        self.largest_spool = max(self.largest_spool, os.stat(f"/proc/self/fd/{fd}").st_size)
                except OSError:
                    continue


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


@pytest.fixture
def spool_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``TMPDIR`` for this test: an empty directory of its own."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    monkeypatch.setenv("TMPDIR", str(directory))
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    yield directory


pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads /proc (Linux)")


def test_a_large_put_reaches_the_apps_reads_before_the_client_has_sent_half_and_is_not_spooled(
    fake: FakeV3, tmp_path: Path, spool_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real gateway application, its translator's upload replaced by a reader that marks when
    each block of ``wsgi.input`` came (the upload itself is the upload source's business)."""
    with GatewayServer(fake.base_url, store=tmp_path / "s.sqlite3", **GATEWAY_OPTIONS) as gateway:
        session_id = requests.post(gateway.url + SESSIONS, json={"language": "en"}, headers=AUTH).json()["result"][
            "session_id"
        ]
        start = time.monotonic()
        client, app = Timeline(start), Timeline(start)
        digest = hashlib.sha256()

        def reading_upload(token: Any, sid: str, file: Any, **kwargs: Any) -> dict[str, Any]:
            total = 0
            while block := file.read(MiB):
                total += len(block)
                digest.update(block)
                app.mark(total)
            return envelope({"session_id": sid, "status": "uploaded", "filename": kwargs["filename"]})

        monkeypatch.setattr(gateway.app.translator, "upload", reading_upload)
        head = (
            f"PUT {SESSIONS}/{session_id} HTTP/1.1\r\nHost: gw\r\nx-zoom-s2t-key: {TOKEN}\r\n"
            f"Content-Type: audio/wav\r\nx-filename: big.wav\r\nContent-Length: {SIZE}\r\n\r\n"
        ).encode()
        with Watch(spool_dir) as watch:
            answer = paced_send(gateway.url, head, SIZE, client)
    assert answer.startswith(b"HTTP/1.1 200 "), answer
    first_read = app.marks[0][0]
    assert client.at(first_read) < SIZE // 2, (first_read, client.at(first_read))
    assert app.at(client.when(SIZE // 2)) >= SIZE // 4  # and it kept pace
    assert app.marks[-1][1] == SIZE
    assert digest.digest() == hashlib.sha256((bytes(range(256)) * (MiB // 256)) * (SIZE // MiB)).digest()
    assert watch.largest_spool == 0  # no temporary file of any size under TMPDIR
    assert watch.peak_rss < 48 * MiB, watch.peak_rss  # a fraction of the body


class RecordingUpstream:
    """An upstream that takes one request and marks when its body bytes arrive; answers 204."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.timeline: Timeline | None = None
        self.head = b""
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def start(self, start: float) -> None:
        self.timeline = Timeline(start)
        self._thread.start()

    def _serve(self) -> None:
        assert self.timeline is not None
        conn, _ = self.server.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            self.head, _, rest = data.partition(b"\r\n\r\n")
            length = int(
                next(
                    line.split(b":")[1]
                    for line in self.head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
            )
            total = len(rest)
            buffer = bytearray(MiB)
            while total < length:
                got = conn.recv_into(buffer)
                if not got:
                    break
                total += got
                self.timeline.mark(total)
            conn.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")

    def close(self) -> None:
        self.server.close()
        self._thread.join(5)


def test_a_large_proxied_body_reaches_the_upstream_before_the_client_has_sent_half(
    tmp_path: Path, spool_dir: Path
) -> None:
    upstream = RecordingUpstream()
    size = 64 * MiB
    try:
        with GatewayServer(upstream.url, store=tmp_path / "s.sqlite3", **GATEWAY_OPTIONS) as gateway:
            start = time.monotonic()
            client = Timeline(start)
            upstream.start(start)
            head = (
                "PATCH /api/v3/files/f1 HTTP/1.1\r\nHost: gw\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n"
                f"Content-Type: application/offset+octet-stream\r\nContent-Length: {size}\r\n\r\n"
            ).encode()
            with Watch(spool_dir) as watch:
                answer = paced_send(gateway.url, head, size, client)
    finally:
        upstream.close()
    assert answer.startswith(b"HTTP/1.1 204 "), answer
    assert upstream.timeline is not None
    arrived = upstream.timeline
    assert client.at(arrived.marks[0][0]) < size // 2
    assert arrived.marks[-1][1] == size
    assert watch.largest_spool == 0


@pytest.mark.parametrize(("size", "deferred"), [(3 * MiB, False), (6 * MiB, True)])
def test_a_chunked_put_goes_up_with_its_length_when_it_ends_within_the_read_ahead(
    upstream: Any, tmp_path: Path, size: int, deferred: bool
) -> None:
    """Up to 4 MiB (``READAHEAD``) are read before the upload starts: a shorter chunked body is uploaded
    with its length (no capability probe, no deferred length); a longer one with a deferred length."""
    fake = FakeV3(upstream, token=TOKEN, defer_length=True)
    data = os.urandom(size)
    with GatewayServer(fake.base_url, store=tmp_path / "s.sqlite3", **GATEWAY_OPTIONS) as gateway:
        session_id = requests.post(gateway.url + SESSIONS, json={"language": "en"}, headers=AUTH).json()["result"][
            "session_id"
        ]
        blocks = (data[i : i + MiB] for i in range(0, size, MiB))
        answer = requests.put(
            f"{gateway.url}{SESSIONS}/{session_id}",
            data=blocks,
            headers={**AUTH, "Content-Type": "audio/wav", "x-filename": "talk.wav"},
            timeout=60,
        )
    assert answer.request.headers.get("Transfer-Encoding") == "chunked"
    assert answer.status_code == 200, answer.text
    upload = fake.only_upload()
    assert bytes(upload.data) == data and upload.deferred is deferred
    assert (fake.count("OPTIONS", "tus-options") > 0) is deferred
