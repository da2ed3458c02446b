"""Forward-only uploads: a body that cannot seek goes up as it is read, one chunk kept.

Against the scripted fake (pytest-httpserver), a small arrival-recording TUS server, and the sink
server in its own process for memory figures.
"""

from __future__ import annotations

import io
import os
import threading
import time
import tracemalloc
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from fake_v3 import FakeV3
from pytest_httpserver import HTTPServer

from compat import BadRequestError, InvalidRequestError, Settings, SQLiteStore, UploadError, V3Client
from compat.v3.forward import ForwardSource
from compat.v3.receipts import ChunkReceipt, digest_of
from compat.v3.transport import Transport
from compat.v3.tus import ResumableUploader, TusEndpoint

TOKEN = "test-token"
KiB, MiB = 1024, 1024 * 1024
CHUNK = 64 * KiB
METADATA = {"language": "en", "document_type": "caption", "filename": "talk.wav", "session_id": "sess-1"}


class Pipe(io.RawIOBase):
    """A request body: cannot seek, hands out at most ``block`` bytes per read, counts every read.

    With ``end_at`` it ends early there, like a client that disconnected.
    """

    def __init__(self, data: bytes, *, block: int = 4096, end_at: int | None = None) -> None:
        self._data = data if end_at is None else data[:end_at]
        self._block = block
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        count = min(len(buffer), self._block, len(self._data) - self.position)
        buffer[:count] = self._data[self.position : self.position + count]
        self.position += count
        return count


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeV3:
    return FakeV3(httpserver, token=TOKEN)


@pytest.fixture
def deferring(httpserver: HTTPServer) -> FakeV3:
    return FakeV3(httpserver, token=TOKEN, defer_length=True)


def make_client(base_url: str, store: Path | str = ":memory:", **options: object) -> V3Client:
    settings: dict[str, object] = {"chunk_size": CHUNK, "backoff_base": 0.001, "max_retries": 4}
    settings.update(options)
    return V3Client(api_key=TOKEN, base_url=base_url, store=str(store), **settings)  # type: ignore[arg-type]


def patches(fake: FakeV3) -> list[dict[str, str]]:
    return [dict(req.headers) for req, _ in fake.server.log if req.method == "PATCH"]


def creation(fake: FakeV3) -> dict[str, str]:
    [request] = [req for req, _ in fake.server.log if req.method == "POST" and req.path.startswith("/api/v3/files")]
    return dict(request.headers)


# The source on its own --------------------------------------------------------------------


def test_a_window_is_read_as_it_is_sent_and_resent_from_the_copy() -> None:
    data = os.urandom(300)
    pipe = Pipe(data, block=16)
    source = ForwardSource(pipe, len(data))
    first = source.chunk(0, 100)
    assert len(first) == 100 and pipe.position == 0  # nothing is read before the body asks
    assert first.read(50) == data[:16]  # one read of the stream: what it had, not a full 50
    assert pipe.position == 16
    first.read(30)
    # The PATCH failed; the server kept 10 bytes: the rest of the window comes from the copy, then the stream.
    again = source.chunk(10, 100)
    assert len(again) == 90  # to the end of the window first handed out
    assert again.read() == data[10:100]
    assert pipe.position == 100  # every byte was read from the stream once
    nxt = source.chunk(100, 100)
    assert nxt.read() == data[100:200]
    with pytest.raises(UploadError, match="cannot rewind a forward-only body"):
        source.chunk(50, 100)
    with pytest.raises(UploadError, match="only 200 have been read"):
        source.chunk(250, 100)
    assert source.chunk(200, 1000).read() == data[200:]
    source.close()


def test_a_window_larger_than_the_memory_bound_is_kept_on_disk() -> None:
    data = os.urandom(3000)
    source = ForwardSource(Pipe(data, block=64), len(data), memory_bound=1000)
    small = ForwardSource(Pipe(data, block=64), len(data), memory_bound=1000)
    big = source.chunk(0, 2000)
    assert big.read(700) == data[:64]
    assert source.kept_on_disk
    assert source.chunk(5, 2000).read() == data[5:2000]
    small.chunk(0, 900).read()
    assert not small.kept_on_disk
    source.close()
    small.close()


def test_unknown_length_fills_each_window_and_learns_the_end_with_the_last() -> None:
    data = os.urandom(2 * 1000)  # exactly two windows: no empty third one
    source = ForwardSource(Pipe(data, block=64), None)
    assert source.size is None
    first = source.chunk(0, 1000)
    assert len(first) == 1000 and source.size is None
    assert first.read() == data[:1000]
    second = source.chunk(1000, 1000)
    assert len(second) == 1000 and source.size == 2000  # the look-ahead found the end
    assert second.read() == data[1000:]
    short = ForwardSource(Pipe(b"abc"), None)
    assert len(short.chunk(0, 1000)) == 3 and short.size == 3
    source.close()
    short.close()


# Uploads through V3Client -----------------------------------------------------------------


def test_forward_upload_through_503_and_drops_is_resent_from_the_kept_chunk(fake: FakeV3) -> None:
    data = os.urandom(5 * CHUNK + 321)
    fake.fail("PATCH", "tus-upload", 503, "pass", "drop", "pass", "drop", 500, "drop")
    pipe = Pipe(data)
    receipts: list[ChunkReceipt] = []
    with make_client(fake.base_url) as client:
        result = client.upload(pipe, METADATA, length=len(data), on_chunk=receipts.append)
    upload = fake.only_upload()
    assert bytes(upload.data) == data and result.size == len(data)
    assert pipe.position == len(data)  # the body was read once: every resend came from the copy
    assert fake.count("HEAD", "tus-head") == 5  # the offset asked after each failure
    assert creation(fake)["Upload-Length"] == str(len(data))
    # One receipt per chunk, contiguous, each the digest of the bytes it covers.
    assert [(r.offset, r.length) for r in receipts] == [
        (o, min(CHUNK, len(data) - o)) for o in range(0, len(data), CHUNK)
    ]
    assert all(r.digest == digest_of(data[r.offset : r.offset + r.length]) for r in receipts)


def test_a_body_that_ends_early_fails_and_stays_resumable(fake: FakeV3, tmp_path: Path) -> None:
    store = tmp_path / "state.sqlite3"
    data = os.urandom(4 * CHUNK + 100)
    receipts: list[ChunkReceipt] = []
    with make_client(fake.base_url, store=store) as client, pytest.raises(UploadError) as caught:
        client.upload(
            Pipe(data, end_at=3 * CHUNK + 500),
            METADATA,
            length=len(data),
            resume_key="sess-1",
            on_chunk=receipts.append,
        )
    assert "ended after" in str(caught.value) and "disconnect" in str(caught.value)
    upload = fake.only_upload()
    assert caught.value.upload_url == f"{fake.base_url}/api/v3/files/{upload.id}"
    assert not upload.complete and len(upload.data) == 3 * CHUNK  # never a completed short upload
    with make_client(fake.base_url, store=store) as client:
        assert [url for _, url, _ in client.store.pending_uploads()] == [caught.value.upload_url]

    # The client sends the request again: the bytes the server holds are checked, not resent.
    before = sum(size for method, _, size in fake.requests if method == "PATCH")
    retried = Pipe(data)
    with make_client(fake.base_url, store=store) as client:
        result = client.upload(
            retried, METADATA, length=len(data), resume_key="sess-1", receipts=receipts, on_chunk=receipts.append
        )
        assert client.store.pending_uploads() == []
    assert result.resumed_from == 3 * CHUNK and result.upload_url == caught.value.upload_url
    assert bytes(fake.only_upload().data) == data
    assert sum(size for method, _, size in fake.requests if method == "PATCH") - before == len(data) - 3 * CHUNK
    assert retried.position == len(data)
    assert [r.offset for r in receipts] == [0, CHUNK, 2 * CHUNK, 3 * CHUNK, 4 * CHUNK]


def _two_chunks_then_die(fake: FakeV3, store: Path, data: bytes) -> list[ChunkReceipt]:
    fake.fail("PATCH", "tus-upload", "pass", "pass", 400)  # two chunks in, then the process "dies"
    receipts: list[ChunkReceipt] = []
    with make_client(fake.base_url, store=store) as client, pytest.raises(BadRequestError):
        client.upload(Pipe(data), METADATA, length=len(data), resume_key="sess-1", on_chunk=receipts.append)
    assert len(receipts) == 2
    return receipts


def test_a_retried_body_that_differs_replaces_the_upload(fake: FakeV3, tmp_path: Path) -> None:
    store = tmp_path / "state.sqlite3"
    first = os.urandom(4 * CHUNK)
    receipts = _two_chunks_then_die(fake, store, first)
    old = fake.only_upload().id
    second = os.urandom(4 * CHUNK)  # the same length, other bytes
    retried = Pipe(second)
    with make_client(fake.base_url, store=store) as client:
        result = client.upload(retried, METADATA, length=len(second), resume_key="sess-1", receipts=receipts)
    assert result.resumed_from is None
    assert fake.count("DELETE", "tus-delete") == 1 and old not in fake.uploads  # the old one terminated
    assert bytes(fake.only_upload().data) == second  # the bytes read while checking were not lost
    assert retried.position == len(second)


def test_a_difference_found_past_what_can_be_kept_fails_honestly(fake: FakeV3, tmp_path: Path) -> None:
    store = tmp_path / "state.sqlite3"
    first = os.urandom(4 * CHUNK)
    receipts = _two_chunks_then_die(fake, store, first)
    # Same first chunk, then different: found after more than one chunk (the prefix kept) was read.
    second = first[:CHUNK] + os.urandom(3 * CHUNK)
    with make_client(fake.base_url, store=store) as client:
        with pytest.raises(UploadError, match=r"differ.*must be sent again"):
            client.upload(Pipe(second), METADATA, length=len(second), resume_key="sess-1", receipts=receipts)
        assert client.store.pending_uploads() == []
    assert fake.uploads == {} and fake.count("POST", "tus-create") == 1  # terminated, nothing new half-made
    # The client's next try starts a new upload.
    with make_client(fake.base_url, store=store) as client:
        client.upload(Pipe(second), METADATA, length=len(second), resume_key="sess-1", receipts=receipts)
    assert bytes(fake.only_upload().data) == second


def test_unrecorded_bytes_are_trusted_only_when_asked(fake: FakeV3, tmp_path: Path) -> None:
    data = os.urandom(3 * CHUNK)
    for trust in (False, True):
        fake.uploads.clear()
        store = tmp_path / f"state-{trust}.sqlite3"
        fake.fail("PATCH", "tus-upload", "pass", "drop")  # the second PATCH is cut: half of it is on the server
        receipts: list[ChunkReceipt] = []
        with make_client(fake.base_url, store=store, max_retries=0) as client, pytest.raises(UploadError):
            client.upload(Pipe(data), METADATA, length=len(data), resume_key="k", on_chunk=receipts.append)
        assert len(fake.only_upload().data) == CHUNK + CHUNK // 2 and len(receipts) == 1
        with make_client(fake.base_url, store=store) as client:
            result = client.upload(
                Pipe(data),
                METADATA,
                length=len(data),
                resume_key="k",
                receipts=receipts,
                trust_unrecorded=trust,
                on_chunk=receipts.append,
            )
        assert bytes(fake.only_upload().data) == data
        assert result.resumed_from == (CHUNK + CHUNK // 2 if trust else None)
        if trust:  # the trusted bytes got their receipt, so a later retry can check them
            assert receipts[1] == ChunkReceipt(CHUNK, CHUNK // 2, digest_of(data[CHUNK : CHUNK + CHUNK // 2]))


def test_a_lost_upload_cannot_start_again_from_a_forward_only_body(fake: FakeV3) -> None:
    data = os.urandom(3 * CHUNK)
    fake.fail("PATCH", "tus-upload", "pass", 404)  # the server lost the upload after one chunk
    with make_client(fake.base_url) as client, pytest.raises(UploadError, match="cannot rewind") as caught:
        client.upload(Pipe(data), METADATA, length=len(data))
        assert client.store.pending_uploads() == []
    assert fake.count("POST", "tus-create") == 1  # refused before a new upload was created
    assert caught.value.upload_url is None


def test_a_retry_after_the_whole_body_arrived_is_a_success(fake: FakeV3, tmp_path: Path) -> None:
    data = os.urandom(2 * CHUNK)
    receipts: list[ChunkReceipt] = []

    def record_then_die(receipt: ChunkReceipt) -> None:
        receipts.append(receipt)
        if receipt.offset + receipt.length == len(data):
            raise RuntimeError("the process died before it could answer")

    store = tmp_path / "s.sqlite3"
    with make_client(fake.base_url, store=store) as client, pytest.raises(RuntimeError):
        client.upload(Pipe(data), METADATA, length=len(data), resume_key="k", on_chunk=record_then_die)
    assert fake.only_upload().complete
    with make_client(fake.base_url, store=store) as client:
        result = client.upload(Pipe(data), METADATA, length=len(data), resume_key="k", receipts=receipts)
        assert client.store.pending_uploads() == []
    assert result.resumed_from == len(data) and result.size == len(data)
    assert fake.count("POST", "tus-create") == 1 and fake.count("PATCH", "tus-upload") == 2


def test_a_complete_upload_is_never_replaced_by_a_body_that_cannot_be_checked(fake: FakeV3, tmp_path: Path) -> None:
    data = os.urandom(2 * CHUNK)
    receipts: list[ChunkReceipt] = []

    def killed_before_the_last_is_recorded(receipt: ChunkReceipt) -> None:
        if receipt.offset + receipt.length == len(data):
            raise RuntimeError("killed between the server's answer and the store")
        receipts.append(receipt)

    store = tmp_path / "s.sqlite3"
    with make_client(fake.base_url, store=store) as client, pytest.raises(RuntimeError):
        client.upload(
            Pipe(data), METADATA, length=len(data), resume_key="k", on_chunk=killed_before_the_last_is_recorded
        )
    assert fake.only_upload().complete and len(receipts) == 1
    with make_client(fake.base_url, store=store) as client:
        with pytest.raises(UploadError, match="already holds all") as caught:
            client.upload(Pipe(data), METADATA, length=len(data), resume_key="k", receipts=receipts)
        assert caught.value.upload_url is not None
        assert len(client.store.pending_uploads()) == 1
        assert fake.count("DELETE", "tus-delete") == 0 and fake.count("POST", "tus-create") == 1
        # Trusting the bytes no receipt covers, the retry is the upload's success.
        result = client.upload(
            Pipe(data), METADATA, length=len(data), resume_key="k", receipts=receipts, trust_unrecorded=True
        )
    assert result.resumed_from == len(data) and fake.only_upload().complete


def test_a_stored_upload_of_another_length_under_the_callers_key_is_terminated(fake: FakeV3, tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    fake.fail("PATCH", "tus-upload", 400)
    with make_client(fake.base_url, store=store) as client, pytest.raises(BadRequestError):
        client.upload(Pipe(os.urandom(3 * CHUNK)), METADATA, length=3 * CHUNK, resume_key="sess-1")
    old = fake.only_upload().id
    data = os.urandom(2 * CHUNK)  # the client sends another file for the same session
    with make_client(fake.base_url, store=store) as client:
        result = client.upload(Pipe(data), METADATA, length=len(data), resume_key="sess-1")
    assert fake.count("DELETE", "tus-delete") == 1 and old not in fake.uploads
    assert bytes(fake.only_upload().data) == data and result.resumed_from is None


def test_a_chunked_attempt_resumed_by_one_of_known_length_declares_the_length(
    deferring: FakeV3, tmp_path: Path
) -> None:
    store = tmp_path / "s.sqlite3"
    data = os.urandom(3 * CHUNK + 10)
    receipts: list[ChunkReceipt] = []
    deferring.fail("PATCH", "tus-upload", "pass", 400)
    with make_client(deferring.base_url, store=store) as client, pytest.raises(BadRequestError):
        client.upload(Pipe(data), METADATA, resume_key="sess-1", on_chunk=receipts.append)
    assert deferring.only_upload().deferred and deferring.only_upload().length is None
    with make_client(deferring.base_url, store=store) as client:
        result = client.upload(Pipe(data), METADATA, length=len(data), resume_key="sess-1", receipts=receipts)
    assert result.resumed_from == CHUNK
    upload = deferring.only_upload()
    assert bytes(upload.data) == data and upload.length == len(data)
    # Declared with the first PATCH once known (the first after the resume), and only then.
    assert [h.get("Upload-Length") for h in patches(deferring)] == [None, None, str(len(data)), None, None]


def test_length_of_a_path_is_checked_before_anything_goes_upstream(fake: FakeV3, tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    path.write_bytes(b"x" * 100)
    with make_client(fake.base_url) as client:
        with pytest.raises(InvalidRequestError, match="length is 99"):
            client.upload(path, METADATA, length=99)
        with pytest.raises(InvalidRequestError):
            client.upload(Pipe(b"abc"), METADATA, length=-1)
    assert fake.requests == []


# Deferred length --------------------------------------------------------------------------


def test_unknown_length_uses_a_deferred_length_declared_with_the_last_patch(deferring: FakeV3) -> None:
    data = os.urandom(5 * CHUNK + 77)
    # Cut the last PATCH (the one that declares the length) and one before it.
    deferring.fail("PATCH", "tus-upload", "pass", "drop", "pass", "pass", "pass", "drop")
    pipe = Pipe(data)
    with make_client(deferring.base_url) as client:
        result = client.upload(pipe, METADATA)
        client.upload(Pipe(os.urandom(10)), {**METADATA, "session_id": "sess-2"})
    upload = deferring.uploads[result.upload_url.rsplit("/", 1)[-1]]
    assert bytes(upload.data) == data and upload.deferred and result.size == len(data)
    assert pipe.position == len(data)
    assert deferring.count("OPTIONS", "tus-options") == 1  # asked once per endpoint
    headers = patches(deferring)
    declared = [h.get("Upload-Length") for h in headers]
    # The cut PATCH had declared it (as @tus/server does before writing): the resend does not again.
    assert declared.count(str(len(data))) == 1 and declared[-2] == str(len(data)) and declared[-1] is None
    assert all(int(h["Content-Length"]) <= CHUNK for h in headers)


def test_unknown_length_that_fits_one_chunk_is_created_with_its_length(deferring: FakeV3) -> None:
    with make_client(deferring.base_url) as client:
        client.upload(Pipe(b"a" * 1000), METADATA)
    headers = creation(deferring)
    assert headers["Upload-Length"] == "1000" and "Upload-Defer-Length" not in headers
    assert not deferring.only_upload().deferred


def test_without_deferred_length_an_unknown_length_is_spooled_up_to_a_bound(fake: FakeV3) -> None:
    data = os.urandom(3 * CHUNK)
    with make_client(fake.base_url) as client:
        client.upload(Pipe(data), METADATA)
        assert creation(fake)["Upload-Length"] == str(len(data))
        fake.uploads.clear()
        with pytest.raises(InvalidRequestError) as caught:
            client.upload(Pipe(data), METADATA, max_spool=len(data) - 1)
    assert caught.value.status_code == 413
    assert fake.count("POST", "tus-create") == 1 and fake.uploads == {}
    assert fake.count("OPTIONS", "tus-options") == 1


# The first PATCH leaves with the first block ------------------------------------------------


class _ArrivalHandler(BaseHTTPRequestHandler):
    """A TUS server that notes when each PATCH's first body bytes arrive."""

    protocol_version = "HTTP/1.1"
    first_bytes: ClassVar[list[float]] = []
    received = 0

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _reply(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in {"Tus-Resumable": "1.0.0", "Content-Length": "0", **headers}.items():
            self.send_header(name, value)
        self.end_headers()

    def do_POST(self) -> None:
        self._reply(201, {"Location": "/api/v3/files/one"})

    def do_PATCH(self) -> None:
        remaining = int(self.headers["Content-Length"])
        first = True
        while remaining:
            block = self.rfile.read1(remaining)
            if not block:
                return
            if first:
                type(self).first_bytes.append(time.monotonic())
                first = False
            remaining -= len(block)
            type(self).received += len(block)
        self._reply(204, {"Upload-Offset": str(type(self).received)})


class PacedBody(io.RawIOBase):
    """A client that sends ``blocks`` blocks, one every ``pace`` seconds; notes when each is handed out."""

    def __init__(self, blocks: list[bytes], pace: float) -> None:
        self._blocks = blocks
        self._pace = pace
        self._current = b""
        self.handed: list[float] = []

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if not self._current:
            if len(self.handed) == len(self._blocks):
                return 0
            if self.handed:
                time.sleep(self._pace)
            self._current = self._blocks[len(self.handed)]
            self.handed.append(time.monotonic())
        count = min(len(buffer), len(self._current))
        buffer[:count] = self._current[:count]
        self._current = self._current[count:]
        return count


@pytest.fixture
def arrival_server() -> Iterator[str]:
    _ArrivalHandler.first_bytes = []
    _ArrivalHandler.received = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ArrivalHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_first_patch_starts_before_the_body_has_produced_a_chunk(arrival_server: str) -> None:
    blocks = [os.urandom(64 * KiB) for _ in range(4)]
    body = PacedBody(blocks, pace=0.5)
    with make_client(arrival_server, chunk_size=MiB) as client:  # the whole body is one chunk
        client.upload(body, METADATA, length=4 * 64 * KiB, resolve_session=False)
    assert _ArrivalHandler.received == 4 * 64 * KiB
    [first_bytes] = _ArrivalHandler.first_bytes  # one PATCH
    # Its first bytes were at the server before the client had produced its second block.
    assert first_bytes < body.handed[1], (first_bytes - body.handed[0], body.handed[1] - body.handed[0])


# Memory -------------------------------------------------------------------------------------


class FileBody(io.RawIOBase):
    """A file read as a stream that cannot seek (a request body of that size)."""

    def __init__(self, path: Path) -> None:
        self._file = open(path, "rb", buffering=0)  # noqa: SIM115 - closed in close()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        return self._file.readinto(buffer) or 0

    def close(self) -> None:
        self._file.close()
        super().close()


@pytest.mark.parametrize(("size_mib", "chunk_mib"), [(8, 32), (64, 32), (64, 6)])
def test_forward_upload_memory_stays_within_the_bound(
    sink_upstream: tuple[str, Path], tmp_path: Path, size_mib: int, chunk_mib: int
) -> None:
    sink_url, sink_dir = sink_upstream
    path = tmp_path / "big.bin"
    with open(path, "wb") as out:
        for _ in range(size_mib):
            out.write(os.urandom(MiB))
    with V3Client(api_key=TOKEN, base_url=sink_url, store=":memory:", chunk_size=chunk_mib * MiB) as client:
        body = FileBody(path)
        tracemalloc.start()
        try:
            result = client.upload(body, METADATA, length=size_mib * MiB)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
            body.close()
    assert result.size == size_mib * MiB
    # The chunk in flight is kept in memory up to the 8 MiB bound (the 8 MiB body, the 6 MiB chunks),
    # on disk above it (32 MiB chunks of the 64 MiB body); never the file.
    window = min(chunk_mib, size_mib) * MiB
    allowed = (window if window <= 8 * MiB else 0) + 2 * MiB
    print(f"peak {peak / MiB:.2f} MiB")
    assert peak < allowed, f"peak {peak / MiB:.1f} MiB"
    assert (sink_dir / "u1").read_bytes() == path.read_bytes()


# The uploader with a source of its own --------------------------------------------------------


def test_the_uploader_reports_progress_and_receipts_for_a_forward_source(fake: FakeV3) -> None:
    data = os.urandom(3 * CHUNK)
    settings = Settings.resolve(api_key=TOKEN, base_url=fake.base_url, backoff_base=0.001, max_retries=4)
    endpoint = TusEndpoint(settings.tus_endpoint, Transport(settings), token=TOKEN)
    progress: list[tuple[int, int]] = []
    receipts: list[ChunkReceipt] = []
    fake.fail("PATCH", "tus-upload", "drop")
    with ForwardSource(Pipe(data), len(data), memory_bound=1000) as source:
        uploader = ResumableUploader(
            endpoint,
            source,
            metadata=METADATA,
            chunk_size=CHUNK,
            store=SQLiteStore(),
            token_digest="d",
            on_progress=lambda done, total: progress.append((done, total)),
            on_chunk=receipts.append,
        )
        uploader.upload()
        assert source.kept_on_disk  # each 64 KiB chunk, above the 1000-byte bound
    assert bytes(fake.only_upload().data) == data
    assert progress[-1] == (len(data), len(data)) and [d for d, _ in progress] == sorted({d for d, _ in progress})
    assert sum(r.length for r in receipts) == len(data)
