"""Issue 10, item 3: an empty file broke its session.

Uploading an empty file (a path or a file object) created a 0-byte TUS upload bound to the session
(a TUS server completes it at once), then answered 400; on the emulator the session then refused
the real file ("already has its media") and ended ``failed``. An empty upload is now refused
(400) before anything goes upstream, whatever carries it: a path, a seekable stream (also one
already read to its end), a stream that cannot seek, a chunked gateway PUT, an ``/align`` part.
The session stays usable: the real file goes up afterwards and the session ends ``done``.
"""

from __future__ import annotations

import io
import os
import wave
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

import pytest
import requests
from fake_v3 import FakeV3
from pytest_httpserver import HTTPServer
from werkzeug.test import Client, EnvironBuilder
from werkzeug.wrappers import Response

from compat import LegacyClient, ScriptixError
from compat.emulator import Emulator
from compat.gateway import GatewayServer, make_app

TOKEN = "item-03-token"
SESSIONS = "/api/v3/speech-to-text/session"
EMPTY = "Invalid data: the upload body is empty"


class Unseekable(io.RawIOBase):
    """A stream that cannot seek (a pipe, a socket, a request body), over ``data``."""

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def _at_end() -> IO[bytes]:
    stream = io.BytesIO(b"RIFF already read")
    stream.read()
    return stream


def _empty_path(tmp_path: Path) -> Path:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    return path


def _open_file(tmp_path: Path, stack: ExitStack) -> IO[bytes]:
    return stack.enter_context(open(_empty_path(tmp_path), "rb"))


# Each way of handing LegacyClient an empty file: a factory taking tmp_path and an ExitStack.
EMPTY_FILES: dict[str, Callable[[Path, ExitStack], Any]] = {
    "path": lambda tmp, _: _empty_path(tmp),
    "path as str": lambda tmp, _: str(_empty_path(tmp)),
    "open file": _open_file,
    "BytesIO": lambda tmp, _: io.BytesIO(b""),
    "seekable stream at its end": lambda tmp, _: _at_end(),
    "stream that cannot seek": lambda tmp, _: Unseekable(b""),
}


def make_wav(path: Path, seconds: float = 1.0) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(bytes(i % 7 for i in range(int(seconds * 8000) * 2)))
    return path


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeV3:
    return FakeV3(httpserver, token=TOKEN)


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as files:
        yield files


def _refused_empty(call: Callable[[], Any]) -> ScriptixError:
    with pytest.raises(ScriptixError) as caught:
        call()
    assert caught.value.status_code == 400, caught.value
    return caught.value


# Nothing goes upstream ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(EMPTY_FILES))
def test_an_empty_upload_is_refused_before_any_tus_request(
    fake: FakeV3, tmp_path: Path, stack: ExitStack, kind: str
) -> None:
    with LegacyClient(api_key=TOKEN, base_url=fake.base_url, store=":memory:") as client:
        session_id = client.create_session("en")["result"]["session_id"]
        before = list(fake.requests)
        empty = EMPTY_FILES[kind](tmp_path, stack)
        error = _refused_empty(lambda: client.upload(session_id, empty, "talk.wav"))
        assert error.body == {"error": EMPTY}
        assert fake.requests == before  # not one TUS request (no creation, no termination)
        assert fake.uploads == {}
        # The session is untouched: the real file goes up as the first and only upload.
        data = b"RIFF" + os.urandom(10_000)
        answer = client.upload(session_id, io.BytesIO(data), "talk.wav", "audio/wav")
    assert answer["result"]["status"] == "uploaded"
    upload = fake.only_upload()
    assert bytes(upload.data) == data and upload.metadata["session_id"] == session_id


def test_a_stream_that_cannot_seek_loses_no_byte_to_the_check(fake: FakeV3) -> None:
    """The first block read to see whether a pipe is empty is uploaded, in front of the rest."""
    data = os.urandom(3 * 1024 * 1024 + 17)  # more than one read-ahead block
    with LegacyClient(api_key=TOKEN, base_url=fake.base_url, store=":memory:", chunk_size=1024 * 1024) as client:
        session_id = client.create_session("en")["result"]["session_id"]
        client.upload(session_id, Unseekable(data), "talk.wav", "audio/wav")
    assert bytes(fake.only_upload().data) == data


def test_a_seekable_stream_is_measured_from_where_it_stands(fake: FakeV3) -> None:
    """A stream positioned part-way is not empty while bytes remain, and keeps its position."""
    stream = io.BytesIO(b"header" + b"payload")
    stream.seek(6)
    with LegacyClient(api_key=TOKEN, base_url=fake.base_url, store=":memory:") as client:
        session_id = client.create_session("en")["result"]["session_id"]
        client.upload(session_id, stream, "talk.wav", "audio/wav")
    assert bytes(fake.only_upload().data) == b"payload"


# /align -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("empty", ["media", "transcript"])
@pytest.mark.parametrize("strategy", ["tus", "passthrough"])
def test_align_refuses_an_empty_part_before_anything_goes_upstream(
    fake: FakeV3, tmp_path: Path, empty: str, strategy: str
) -> None:
    fake.accept_align = True
    media = io.BytesIO(b"" if empty == "media" else b"RIFF" + os.urandom(1000))
    transcript = io.BytesIO(b"" if empty == "transcript" else b"hello world\n")
    with LegacyClient(api_key=TOKEN, base_url=fake.base_url, store=":memory:", align_strategy=strategy) as client:  # type: ignore[arg-type]
        session_id = client.create_session("en")["result"]["session_id"]
        before = list(fake.requests)
        error = _refused_empty(
            lambda: client.align(session_id, media, transcript, media_filename="talk.wav", content_type="audio/wav")
        )
    part = "media_file" if empty == "media" else "transcript_file"
    assert error.body == {"error": f"Invalid data: {part} is empty"}
    assert fake.requests == before and fake.uploads == {} and fake.align_bodies == []


# The gateway: a chunked empty PUT -------------------------------------------------------------------


@pytest.fixture
def gateway(fake: FakeV3) -> Iterator[GatewayServer]:
    with GatewayServer(fake.base_url, store=":memory:") as server:
        yield server


def test_the_gateway_refuses_a_chunked_empty_put_and_the_session_stays_usable(
    fake: FakeV3, gateway: GatewayServer
) -> None:
    headers = {"x-zoom-s2t-key": TOKEN}
    created = requests.post(gateway.url + SESSIONS, json={"language": "en"}, headers=headers, timeout=10)
    session_id = created.json()["result"]["session_id"]
    before = list(fake.requests)
    put_headers = {**headers, "Content-Type": "audio/wav", "x-filename": "talk.wav"}
    empty = requests.put(f"{gateway.url}{SESSIONS}/{session_id}", data=iter([]), headers=put_headers, timeout=10)
    assert empty.request.headers.get("Transfer-Encoding") == "chunked"
    assert empty.status_code == 400 and empty.json() == {"error": EMPTY}
    assert fake.requests == before and fake.uploads == {}
    data = b"RIFF" + os.urandom(5000)
    real = requests.put(
        f"{gateway.url}{SESSIONS}/{session_id}", data=iter([data[:100], data[100:]]), headers=put_headers, timeout=10
    )
    assert real.status_code == 200 and real.json()["result"]["status"] == "uploaded"
    assert bytes(fake.only_upload().data) == data


def test_the_gateway_app_refuses_an_empty_body_that_comes_without_a_content_length(fake: FakeV3) -> None:
    """A WSGI server that de-chunks as it reads hands the body with no ``CONTENT_LENGTH`` at all
    (waitress sets one, so the real server above is refused by that); the body itself is checked."""
    app = make_app(fake.base_url, store=":memory:")
    try:
        headers = {"x-zoom-s2t-key": TOKEN}
        session_id = Client(app).post(SESSIONS, json={"language": "en"}, headers=headers).json["result"]["session_id"]
        before = list(fake.requests)
        environ = EnvironBuilder(
            path=f"{SESSIONS}/{session_id}",
            method="PUT",
            input_stream=io.BytesIO(b""),
            headers={**headers, "Content-Type": "audio/wav", "Transfer-Encoding": "chunked"},
        ).get_environ()
        del environ["CONTENT_LENGTH"]
        environ["wsgi.input_terminated"] = True
        answer = Response.from_app(app, environ)
    finally:
        app.close()
    assert answer.status_code == 400 and answer.json == {"error": EMPTY}
    assert fake.requests == before and fake.uploads == {}


# The emulator: the session accepts the real file afterwards and ends done ------------------------------


@pytest.mark.parametrize("kind", ["path", "open file", "stream that cannot seek"])
def test_on_the_emulator_the_session_takes_the_real_file_after_an_empty_one_and_ends_done(
    tmp_path: Path, stack: ExitStack, kind: str
) -> None:
    media = make_wav(tmp_path / "talk.wav")
    with (
        Emulator(processing_delay=0.1) as emu,
        LegacyClient(api_key=TOKEN, base_url=emu.url, store=":memory:") as client,
    ):
        session_id = client.create_session("en")["result"]["session_id"]
        empty = EMPTY_FILES[kind](tmp_path, stack)
        error = _refused_empty(lambda: client.upload(session_id, empty, "talk.wav"))
        assert error.body == {"error": EMPTY}
        assert emu.uploads == {}  # nothing was created upstream
        assert emu.session(session_id).status == "new"
        assert client.upload(session_id, media)["result"]["status"] == "uploaded"
        result = client.wait(session_id, timeout=10, poll_interval=0.05)["result"]
    assert result["status"] == "done" and result["error"] is None
    assert result["filename"] == "talk.wav" and result["results"]
