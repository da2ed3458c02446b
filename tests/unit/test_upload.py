"""TUS uploads through V3Client against a scripted fake V3 (pytest-httpserver)."""

from __future__ import annotations

import io
import logging
import os
import threading
import time
import tracemalloc
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fake_v3 import FakeV3
from pytest_httpserver import HTTPServer

from compat import (
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    InvalidRequestError,
    PreconditionFailedError,
    UploadCancelledError,
    UploadError,
    V3Client,
)

TOKEN = "test-token"
METADATA = {"language": "en", "document_type": "caption", "filename": "talk.wav", "session_id": "sess-1"}


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeV3:
    return FakeV3(httpserver, token=TOKEN)


@pytest.fixture
def payload() -> bytes:
    return os.urandom(300 * 1024 + 17)


def make_client(base_url: str, store: Path | str = ":memory:", **options: object) -> V3Client:
    settings: dict[str, object] = {"chunk_size": 64 * 1024, "backoff_base": 0.001, "max_retries": 4}
    settings.update(options)
    return V3Client(api_key=TOKEN, base_url=base_url, store=str(store), **settings)  # type: ignore[arg-type]


class Progress:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def __call__(self, done: int, total: int) -> None:
        self.calls.append((done, total))

    def assert_monotonic_to(self, size: int) -> None:
        values = [done for done, _ in self.calls]
        assert values, "on_progress was never called"
        assert values == sorted(values) and len(set(values)) == len(values), "progress went back or repeated"
        assert values[-1] == size
        assert all(total == size for _, total in self.calls)


def test_faults_on_every_step_still_deliver_identical_bytes(fake: FakeV3, payload: bytes, tmp_path: Path) -> None:
    fake.fail("POST", "session-create", (429, {"Retry-After": "0"}))
    fake.fail("POST", "tus-create", 503)
    fake.fail("PATCH", "tus-upload", 503, 503, "drop")
    progress = Progress()
    source = tmp_path / "talk.wav"
    source.write_bytes(payload)
    with make_client(fake.base_url) as client:
        session = client.create_session(language="en")
        result = client.upload(source, {**METADATA, "session_id": session.session_id}, on_progress=progress)
    upload = fake.only_upload()
    assert bytes(upload.data) == payload
    assert upload.metadata["session_id"] == session.session_id == result.session_id
    assert fake.count("POST", "session-create") == 2
    assert fake.count("POST", "tus-create") == 2
    assert fake.count("HEAD", "tus-head") >= 3  # one offset check after each PATCH failure
    progress.assert_monotonic_to(len(payload))


@pytest.mark.parametrize("absolute", [False, True], ids=["relative-location", "absolute-location"])
def test_location_relative_or_absolute(httpserver: HTTPServer, payload: bytes, absolute: bool) -> None:
    fake = FakeV3(httpserver, token=TOKEN, absolute_location=absolute)
    with make_client(fake.base_url) as client:
        result = client.upload(io.BytesIO(payload), METADATA)
    upload = fake.only_upload()
    assert bytes(upload.data) == payload
    assert result.upload_url == f"{fake.base_url}/api/v3/files/{upload.id}"


def test_metadata_is_base64_and_booleans_are_words(fake: FakeV3, payload: bytes) -> None:
    with make_client(fake.base_url) as client:
        client.upload(
            io.BytesIO(payload), {**METADATA, "punctuation": True, "keep_source": False, "filename": "é ü.wav"}
        )
    metadata = fake.only_upload().metadata
    assert metadata["punctuation"] == "true" and metadata["keep_source"] == "false"
    assert metadata["filename"] == "é ü.wav"
    creation = next(req for req, _ in fake.server.log if req.method == "POST" and req.path.startswith("/api/v3/files"))
    assert creation.headers["Upload-Metadata"].strip()
    assert creation.headers["Tus-Resumable"] == "1.0.0"
    assert creation.headers["x-zoom-s2t-key"] == TOKEN


@pytest.mark.parametrize(
    "metadata",
    [
        {"document_type": "caption"},
        {"language": "en"},
        {"language": "en", "document_type": "caption", "bad key": "x"},
        {"language": "en", "document_type": "caption", "a,b": "x"},
        {"language": "en", "document_type": "caption", "n": 1.5},
    ],
)
def test_bad_metadata_is_refused_before_anything_goes_upstream(fake: FakeV3, metadata: dict[str, object]) -> None:
    with make_client(fake.base_url) as client, pytest.raises(InvalidRequestError) as caught:
        client.upload(io.BytesIO(b"abc"), metadata)  # type: ignore[arg-type]
    assert caught.value.status_code == 400
    assert fake.requests == []


def test_empty_file_is_one_creation_and_no_patch(fake: FakeV3, tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    progress = Progress()
    with make_client(fake.base_url) as client:
        result = client.upload(empty, METADATA, on_progress=progress)
    assert fake.only_upload().length == 0
    assert fake.count("PATCH", "tus-upload") == 0
    assert result.size == 0
    assert progress.calls == [(0, 0)]


def test_conflict_resyncs_offset_with_head(fake: FakeV3, payload: bytes) -> None:
    fake.fail("PATCH", "tus-upload", 409, 460)
    with make_client(fake.base_url) as client:
        client.upload(io.BytesIO(payload), METADATA)
    assert bytes(fake.only_upload().data) == payload
    assert fake.count("HEAD", "tus-head") == 2


def test_retry_after_on_patch_is_honoured(fake: FakeV3, payload: bytes) -> None:
    fake.fail("PATCH", "tus-upload", (429, {"Retry-After": "3"}))
    with make_client(fake.base_url) as client:
        slept: list[float] = []
        client.transport._sleep = slept.append
        client.upload(io.BytesIO(payload), METADATA)
    assert 3.0 in slept
    assert bytes(fake.only_upload().data) == payload


def test_fatal_answer_is_raised_typed_and_not_retried(fake: FakeV3, payload: bytes) -> None:
    fake.fail("PATCH", "tus-upload", 412)
    with make_client(fake.base_url) as client, pytest.raises(PreconditionFailedError) as caught:
        client.upload(io.BytesIO(payload), METADATA)
    assert caught.value.status_code == 412
    assert fake.count("PATCH", "tus-upload") == 1


def test_gives_up_after_max_retries_without_progress(fake: FakeV3, payload: bytes) -> None:
    fake.fail("PATCH", "tus-upload", *([500] * 20))
    with make_client(fake.base_url, max_retries=3) as client, pytest.raises(UploadError) as caught:
        client.upload(io.BytesIO(payload), METADATA)
    assert "run the same upload again to resume" in str(caught.value)
    assert caught.value.upload_url and caught.value.upload_url.startswith(fake.base_url)
    assert fake.count("PATCH", "tus-upload") == 4  # the first attempt and three retries
    assert fake.count("HEAD", "tus-head") == 3  # the offset asked before each retry


def test_rerun_after_a_failed_run_resumes_from_the_server_offset(fake: FakeV3, payload: bytes, tmp_path: Path) -> None:
    store = tmp_path / "state.sqlite3"
    source = tmp_path / "talk.wav"
    source.write_bytes(payload)
    # Chunks 1 and 2 arrive; the third PATCH gets a fatal answer, as if the process had died.
    fake.fail("PATCH", "tus-upload", "pass", "pass", 400)
    with make_client(fake.base_url, store=store) as client, pytest.raises(BadRequestError):
        client.upload(source, METADATA)
    offset = len(fake.only_upload().data)
    assert offset == 2 * 64 * 1024
    received_before = sum(size for method, _, size in fake.requests if method == "PATCH")

    progress = Progress()
    with make_client(fake.base_url, store=store) as client:
        result = client.upload(source, METADATA, on_progress=progress)
    assert result.resumed_from == offset
    assert fake.count("POST", "tus-create") == 1
    assert bytes(fake.only_upload().data) == payload
    received_after = sum(size for method, _, size in fake.requests if method == "PATCH") - received_before
    assert received_after == len(payload) - offset
    assert progress.calls[0][0] == offset
    with make_client(fake.base_url, store=store) as client:
        assert client.store.pending_uploads() == []


def test_a_stored_upload_that_expired_starts_afresh(fake: FakeV3, payload: bytes, tmp_path: Path) -> None:
    store = tmp_path / "state.sqlite3"
    fake.fail("PATCH", "tus-upload", 401)
    with make_client(fake.base_url, store=store) as client, pytest.raises(AuthenticationError):
        client.upload(io.BytesIO(payload), METADATA)
    fake.uploads.clear()  # the server expired it
    with make_client(fake.base_url, store=store) as client:
        result = client.upload(io.BytesIO(payload), METADATA)
    assert result.resumed_from is None
    assert bytes(fake.only_upload().data) == payload
    assert fake.count("POST", "tus-create") == 2


def test_two_different_files_of_equal_size_and_head_do_not_share_an_upload(fake: FakeV3, tmp_path: Path) -> None:
    head = os.urandom(64 * 1024)
    first, second = tmp_path / "a.wav", tmp_path / "b.wav"
    first.write_bytes(head + b"A" * 100_000)
    second.write_bytes(head + b"B" * 100_000)
    store = tmp_path / "state.sqlite3"
    fake.fail("PATCH", "tus-upload", 400)
    with make_client(fake.base_url, store=store) as client, pytest.raises(BadRequestError):
        client.upload(first, METADATA)
    with make_client(fake.base_url, store=store) as client:
        result = client.upload(second, METADATA)
    assert result.resumed_from is None
    assert fake.count("POST", "tus-create") == 2
    assert bytes(fake.uploads[result.upload_url.rsplit("/", 1)[-1]].data) == second.read_bytes()


class _Pipe(io.RawIOBase):
    """A non-seekable binary stream, like a socket or a request body."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, size: int = -1) -> bytes:
        return self._data.read(min(size, 4096) if size and size > 0 else 4096)


def test_non_seekable_stream_survives_a_dropped_connection(fake: FakeV3, payload: bytes) -> None:
    fake.fail("PATCH", "tus-upload", "pass", "drop")
    with make_client(fake.base_url) as client:
        result = client.upload(_Pipe(payload), METADATA)
    assert bytes(fake.only_upload().data) == payload
    assert result.size == len(payload)


def test_seekable_stream_is_read_from_its_current_position(fake: FakeV3, payload: bytes) -> None:
    stream = io.BytesIO(b"HEADER" + payload)
    stream.seek(6)
    with make_client(fake.base_url) as client:
        client.upload(stream, METADATA)
    assert bytes(fake.only_upload().data) == payload
    assert not stream.closed


def test_cancel_terminates_the_upload_on_the_server(fake: FakeV3, payload: bytes, tmp_path: Path) -> None:
    cancel = threading.Event()

    def cancel_after_first_chunk(done: int, total: int) -> None:
        if done >= 64 * 1024:
            cancel.set()

    with make_client(fake.base_url, store=tmp_path / "s.sqlite3") as client:
        with pytest.raises(UploadCancelledError) as caught:
            client.upload(io.BytesIO(payload), METADATA, on_progress=cancel_after_first_chunk, cancel=cancel)
        assert client.store.pending_uploads() == []
    assert fake.count("DELETE", "tus-delete") == 1
    assert fake.uploads == {}
    assert caught.value.upload_url


def test_delete_session_cancels_an_upload_in_flight(fake: FakeV3, payload: bytes) -> None:
    with make_client(fake.base_url) as client:
        session = client.create_session(language="en")
        errors: list[BaseException] = []

        def slow(done: int, total: int) -> None:
            time.sleep(0.05)

        worker = threading.Thread(
            target=lambda: _capture(
                errors, client.upload, io.BytesIO(payload), {**METADATA, "session_id": session.session_id}, slow
            )
        )
        worker.start()
        time.sleep(0.1)
        client.delete_session(session.session_id)
        worker.join(10)
    assert not worker.is_alive()
    assert errors and isinstance(errors[0], UploadCancelledError)
    assert fake.uploads == {}


def _capture(errors: list[BaseException], func: object, *args: object) -> None:
    try:
        func(*args)  # type: ignore[operator]
    except BaseException as exc:
        errors.append(exc)


def test_session_id_is_polled_from_the_file_info(fake: FakeV3, payload: bytes) -> None:
    fake.session_lookups_before_assigned = 2
    metadata = {k: v for k, v in METADATA.items() if k != "session_id"}
    with make_client(fake.base_url) as client:
        result = client.upload(io.BytesIO(payload), metadata)
    assert result.session_id == fake.only_upload().session_id
    assert fake.count("GET", "tus-info") == 3


# A server that accepts and never answers --------------------------------------------------


class _StallingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    release = threading.Event()

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        if self.path.startswith("/api/v3/files"):
            self.send_response(201)
            self.send_header("Location", "/api/v3/files/stalled")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.release.wait(30)

    def do_PATCH(self) -> None:
        self.release.wait(30)

    do_HEAD = do_PATCH
    do_GET = do_PATCH


@pytest.fixture
def stalling_server() -> Iterator[str]:
    _StallingHandler.release = threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StallingHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    _StallingHandler.release.set()
    server.shutdown()
    server.server_close()


TIMEOUT, RETRIES = 0.4, 2


def _bound() -> float:
    # timeout x (retries + 1), plus backoff (base 0.001 s, tiny) and scheduling slack.
    return TIMEOUT * (RETRIES + 1) + 1.0


def test_stalled_server_ends_an_upload_in_a_typed_error(stalling_server: str, payload: bytes) -> None:
    client = make_client(stalling_server, timeout=TIMEOUT, max_retries=RETRIES)
    started = time.monotonic()
    with pytest.raises(UploadError) as caught:
        client.upload(io.BytesIO(payload), METADATA)
    elapsed = time.monotonic() - started
    assert TIMEOUT * (RETRIES + 1) * 0.9 <= elapsed <= _bound()
    assert isinstance(caught.value.__cause__, APITimeoutError)


def test_stalled_server_ends_a_get_in_a_typed_error(stalling_server: str) -> None:
    client = make_client(stalling_server, timeout=TIMEOUT, max_retries=RETRIES)
    started = time.monotonic()
    with pytest.raises(APITimeoutError) as caught:
        client.get_result("abc")
    assert time.monotonic() - started <= _bound()
    assert caught.value.status_code is None


def test_stalled_server_does_not_repeat_a_session_creation(stalling_server: str) -> None:
    client = make_client(stalling_server, timeout=TIMEOUT, max_retries=RETRIES)
    started = time.monotonic()
    with pytest.raises(APITimeoutError):
        client.create_session(language="en")
    # A POST that may have been acted on is not repeated: one timeout, not three.
    assert time.monotonic() - started < TIMEOUT * 2


# Memory -----------------------------------------------------------------------------------


def _write_random(path: Path, size: int) -> None:
    with open(path, "wb") as out:
        for _ in range(size // (1 << 20)):
            out.write(os.urandom(1 << 20))


@pytest.mark.parametrize("size_mib", [8, 64])
def test_upload_memory_does_not_grow_with_the_file_or_the_chunk(
    sink_upstream: tuple[str, Path], tmp_path: Path, size_mib: int
) -> None:
    sink_url, sink_dir = sink_upstream
    source = tmp_path / "big.bin"
    _write_random(source, size_mib << 20)
    chunk = 32 << 20
    with V3Client(api_key=TOKEN, base_url=sink_url, store=":memory:", chunk_size=chunk) as client:
        tracemalloc.start()
        try:
            result = client.upload(source, METADATA)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert result.size == size_mib << 20
    # The whole file and one chunk are 8-64 MiB and 32 MiB; the client holds a few blocks at most.
    print(f"peak {peak / 2**20:.2f} MiB")
    assert peak < 2 << 20, f"peak {peak / 2**20:.1f} MiB"
    assert (sink_dir / "u1").read_bytes() == source.read_bytes()


# Secrets ----------------------------------------------------------------------------------


def test_token_appears_in_no_log_repr_error_or_store(
    fake: FakeV3, payload: bytes, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store = tmp_path / "state.sqlite3"
    fake.fail("PATCH", "tus-upload", 503, 400)
    texts: list[str] = []
    with make_client(fake.base_url, store=store) as client:
        texts += [repr(client), str(client.settings), repr(client.settings), repr(client.transport)]
        with pytest.raises(BadRequestError) as caught:
            client.upload(io.BytesIO(payload), METADATA)
        texts += [str(caught.value), repr(caught.value), str(caught.value.body), str(caught.value.__cause__)]
        with pytest.raises(Exception) as other:
            client.get_result("unknown-session")
        texts += [str(other.value), repr(other.value), str(other.value.body)]  # type: ignore[attr-defined]
    texts += [record.getMessage() for record in caplog.records]
    assert any("PATCH" in t for t in texts), "the log should have recorded the upload"
    for text in texts:
        assert TOKEN not in text
    for path in tmp_path.iterdir():
        if path.name.startswith("state.sqlite3"):
            assert TOKEN.encode() not in path.read_bytes()


def test_a_full_store_stops_the_upload_cleanly_before_any_byte(fake: FakeV3, payload: bytes, tmp_path: Path) -> None:
    from compat import SQLiteStore
    from compat.store import StoreError

    store = SQLiteStore(tmp_path / "state.sqlite3")
    pages = store.execute("PRAGMA page_count")[0][0]
    store.execute(f"PRAGMA max_page_count = {pages}")  # any growth now fails: "database or disk is full"
    with pytest.raises(StoreError):  # fill the last free page
        for number in range(10_000):
            store.execute("INSERT INTO uploads(key, url, created_at) VALUES (?, ?, 0)", (f"filler{number}", "x" * 100))
    client = V3Client(api_key=TOKEN, base_url=fake.base_url, store=store, chunk_size=64 * 1024, backoff_base=0.001)
    with pytest.raises(UploadError) as caught:
        client.upload(io.BytesIO(payload), METADATA)
    assert "upload not started" in str(caught.value) and "full" in str(caught.value)
    assert fake.count("POST", "tus-create") == 1
    assert fake.count("DELETE", "tus-delete") == 1  # the upload just created was terminated
    assert fake.uploads == {}
    assert fake.count("PATCH", "tus-upload") == 0
