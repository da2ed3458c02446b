"""The multipart ``upload`` part streams: bytes are handed on as they arrive, memory stays bounded, and a body
that is cut off or malformed is a refusal, never a shorter file."""

from __future__ import annotations

import io
import os
import queue
import threading
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest
from fake_v3 import FakeV3
from pytest_httpserver import HTTPServer
from zm_helpers import TOKEN, finish_when_uploaded

from compat import V3Client
from compat.errors import BadRequestError, ScriptixError, UnprocessableEntityError
from compat.frontdoor import zoommedia
from compat.frontdoor.http import V1Request
from compat.frontdoor.multipart import FilePart
from compat.translate import Translator

BOUNDARY = b"zoom-boundary-7d3"


def part(name: str, data: bytes, filename: str | None = "talk.wav", content_type: str | None = "audio/wav") -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
    head = f"--{BOUNDARY.decode()}\r\nContent-Disposition: {disposition}\r\n"
    if content_type:
        head += f"Content-Type: {content_type}\r\n"
    return head.encode() + b"\r\n" + data + b"\r\n"


def body(*parts: bytes) -> bytes:
    return b"".join(parts) + b"--" + BOUNDARY + b"--\r\n"


class Trickle(io.RawIOBase):
    """A request body that arrives in the blocks a test puts in, and ends with ``None``."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks: queue.Queue[bytes | None] = queue.Queue()
        self.ended = False
        self._pending = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if not self._pending and not self.ended:
            block = self.blocks.get(timeout=10)
            self.ended = block is None
            self._pending = block or b""
        wanted = len(self._pending) if size is None or size < 0 else size
        data, self._pending = self._pending[:wanted], self._pending[wanted:]
        return data


def read_all(stream: Any) -> bytes:
    chunks = []
    while block := stream.read(100_000):
        chunks.append(block)
    return b"".join(chunks)


def test_the_part_is_handed_on_before_the_body_has_arrived() -> None:
    source = Trickle()
    first = os.urandom(200_000)
    source.blocks.put(part("upload", first)[:-2][: 100 + len(first)])  # the headers and the first bytes only
    upload = FilePart(source, BOUNDARY, "upload")
    upload.open()
    assert upload.filename == "talk.wav" and upload.content_type == "audio/wav"
    got = upload.read(65536)
    assert got and first.startswith(got)
    assert not source.ended  # the body is still arriving


def test_only_the_upload_part_is_kept_others_and_a_second_one_are_dropped() -> None:
    media = os.urandom(300_000)
    raw = body(
        part("language", b"en-us", filename=None, content_type=None),
        part("media", b"not this"),
        part("upload", media, filename="/home/me/talk.wav", content_type=None),
        part("upload", b"nor this"),
    )
    upload = FilePart(io.BytesIO(raw), BOUNDARY, "upload")
    assert read_all(upload) == media
    assert upload.filename == "talk.wav"  # without the directory a browser once sent
    assert upload.content_type is None
    assert upload.size == len(media)


@pytest.mark.parametrize(
    ("raw", "error", "words"),
    [
        (body(part("media", b"x")), UnprocessableEntityError, "has no file part named 'upload'"),
        (body(part("upload", b"")), BadRequestError, "the file part 'upload' is empty"),
        (body(part("upload", b"x", filename="a\x01b")), UnprocessableEntityError, "plain file name"),
        (body(*[part(f"p{n}", b"x") for n in range(40)]), UnprocessableEntityError, "too many parts"),
        (part("upload", b"abc")[:30], BadRequestError, "incomplete"),
        (b"--" + BOUNDARY + b"\r\nX: y\r\n\r\nabc\r\n--" + BOUNDARY + b"--\r\n", UnprocessableEntityError, "malformed"),
    ],
)
def test_a_body_that_cannot_be_used_is_refused_before_its_part_is_read(
    raw: bytes, error: type[ScriptixError], words: str
) -> None:
    upload = FilePart(io.BytesIO(raw), BOUNDARY, "upload")
    with pytest.raises(error) as caught:
        upload.open()
    assert words in str(caught.value)


@pytest.mark.parametrize("cut", ["in the part", "before the closing boundary"])
def test_a_body_cut_off_is_an_error_never_a_shorter_file(cut: str) -> None:
    media = os.urandom(200_000)
    raw = body(part("upload", media))
    raw = raw[:150_000] if cut == "in the part" else raw[: raw.rindex(b"--" + BOUNDARY)]
    upload = FilePart(io.BytesIO(raw), BOUNDARY, "upload")
    with pytest.raises(BadRequestError, match="incomplete"):
        read_all(upload)
    assert upload.refusal is not None


def test_memory_stays_bounded_whatever_the_part_size() -> None:
    size = 64 * 1024 * 1024
    block = os.urandom(64 * 1024)

    def stream() -> Iterator[bytes]:
        yield part("upload", b"")[:-2]  # the part's headers
        for _ in range(size // len(block)):
            yield block
        yield b"\r\n--" + BOUNDARY + b"--\r\n"

    chunks = stream()

    class Source(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            return next(chunks, b"")

    upload = FilePart(Source(), BOUNDARY, "upload")
    tracemalloc.start()
    try:
        total = 0
        while data := upload.read(1024 * 1024):
            total += len(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == size
    assert peak < 4 * 1024 * 1024, peak


def test_a_body_cut_off_mid_upload_is_a_400_and_the_session_stays_usable(httpserver: HTTPServer) -> None:
    fake = FakeV3(httpserver, token=TOKEN, defer_length=True)
    finish_when_uploaded(fake)
    v3 = V3Client(base_url=fake.base_url, store=":memory:", chunk_size=64 * 1024)
    translator = Translator(v3)
    created = zoommedia.dispatch(
        translator,
        V1Request(
            "POST",
            "/api/v2/speech-to-text/session",
            {"X-Zoom-S2T-Key": TOKEN, "Content-Type": "application/json"},
            io.BytesIO(b'{"language": "en-us"}'),
        ),
    )
    session_id = created.body["zoom_id"]
    media = os.urandom(500_000)
    headers = {"X-Zoom-S2T-Key": TOKEN, "Content-Type": f"multipart/form-data; boundary={BOUNDARY.decode()}"}
    path = f"/api/v2/speech-to-text/session/{session_id}"
    cut = zoommedia.dispatch(
        translator, V1Request("POST", path, headers, io.BytesIO(body(part("upload", media))[:400_000]))
    )
    assert cut.status == 400
    assert cut.body == {"error": "invalid-data", "error_message": "Invalid data: the upload body is incomplete"}
    assert fake.count("PATCH", "tus-upload") >= 1  # the upload had started: the part streamed
    assert not any(u.complete for u in fake.uploads.values())
    again = zoommedia.dispatch(translator, V1Request("POST", path, headers, io.BytesIO(body(part("upload", media)))))
    assert again.status == 200, again.body
    assert any(bytes(u.data) == media and u.complete for u in fake.uploads.values())
    translator.close()
    v3.close()


def test_the_upload_reads_the_part_while_the_body_arrives(httpserver: HTTPServer) -> None:
    """The first PATCH leaves before the multipart body has ended (the deferred-length upload)."""
    fake = FakeV3(httpserver, token=TOKEN, defer_length=True)
    v3 = V3Client(base_url=fake.base_url, store=":memory:", chunk_size=64 * 1024)
    translator = Translator(v3)
    session_id = translator.create_session(TOKEN, {"language": "en-us"})["result"]["session_id"]
    source = Trickle()
    media = os.urandom(256 * 1024)
    raw = body(part("upload", media))
    headers = {"X-Zoom-S2T-Key": TOKEN, "Content-Type": f"multipart/form-data; boundary={BOUNDARY.decode()}"}
    answers: list[Any] = []
    worker = threading.Thread(
        target=lambda: answers.append(
            zoommedia.dispatch(
                translator, V1Request("POST", f"/api/v2/speech-to-text/session/{session_id}", headers, source)
            )
        )
    )
    worker.start()
    source.blocks.put(raw[:200_000])
    deadline = threading.Event()
    for _ in range(200):
        if fake.count("PATCH", "tus-upload") >= 1:
            break
        deadline.wait(0.05)
    assert fake.count("PATCH", "tus-upload") >= 1  # sent while the rest of the body has not arrived
    assert not source.ended
    source.blocks.put(raw[200_000:])
    source.blocks.put(None)
    worker.join(30)
    assert answers and answers[0].status == 200, answers
    assert bytes(fake.only_upload().data) == media
    translator.close()
    v3.close()


def test_a_stream_that_gives_more_than_asked_is_fed_block_by_block() -> None:
    media = os.urandom(1_000_000)

    class Generous(io.RawIOBase):
        """Hands the whole body over at the first read, whatever was asked for."""

        def __init__(self, data: bytes) -> None:
            super().__init__()
            self.data = data

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            data, self.data = self.data, b""
            return data

    assert read_all(FilePart(Generous(body(part("upload", media))), BOUNDARY, "upload")) == media


class BodyFailed(OSError):
    """What a server's body stream raises for a client that is too slow or gone (the gateway answers it)."""


@pytest.mark.parametrize("when", ["before the part", "in the part"])
def test_a_failing_body_stream_is_raised_for_the_server_to_answer(httpserver: HTTPServer, when: str) -> None:
    fake = FakeV3(httpserver, token=TOKEN, defer_length=True)
    v3 = V3Client(base_url=fake.base_url, store=":memory:", chunk_size=64 * 1024)
    translator = Translator(v3)
    session_id = translator.create_session(TOKEN, {"language": "en-us"})["result"]["session_id"]
    raw = body(part("upload", os.urandom(300_000)))
    failure = BodyFailed("the client sent nothing for 30 s")

    class Failing(io.RawIOBase):
        def __init__(self) -> None:
            super().__init__()
            self.left = 50 if when == "before the part" else 200_000

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            if self.left <= 0:
                raise failure
            take = min(size, self.left)
            offset = (50 if when == "before the part" else 200_000) - self.left
            self.left -= take
            return raw[offset : offset + take]

    headers = {"X-Zoom-S2T-Key": TOKEN, "Content-Type": f"multipart/form-data; boundary={BOUNDARY.decode()}"}
    request = V1Request("POST", f"/api/v2/speech-to-text/session/{session_id}", headers, Failing())
    with pytest.raises(Exception) as caught:
        zoommedia.dispatch(translator, request)
    chain: list[BaseException] = []
    current: BaseException | None = caught.value
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    assert failure in chain  # not turned into an answer of the front door's own
    translator.close()
    v3.close()
