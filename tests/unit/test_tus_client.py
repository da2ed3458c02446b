"""The TUS client's own pieces: the wire helpers, the chunk seam between uploader and source.

Uploads end to end (faults, resume, cancel, memory) are in ``test_upload.py``; here the uploader
is driven with a source of the test's own, through the one interface it reads from.
"""

from __future__ import annotations

import io
import os

import pytest
from fake_v3 import FakeV3
from pytest_httpserver import HTTPServer

from compat import Settings, SQLiteStore, UploadError
from compat.v3.source import Chunk, UploadSource, open_source
from compat.v3.transport import Transport
from compat.v3.tus import ResumableUploader, TusEndpoint
from compat.v3.tus.protocol import creation_headers, encode_metadata, int_value, patch_headers

TOKEN = "test-token"
CHUNK = 64 * 1024
METADATA = {"language": "en", "document_type": "caption", "filename": "a.wav"}


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeV3:
    return FakeV3(httpserver, token=TOKEN)


class _RecordingSource:
    """A source in memory that is not an ``UploadSource``: it records the chunks asked of it."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.asked: list[tuple[int, int]] = []

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def fingerprint(self) -> str:
        return f"test:{len(self.data)}"

    def chunk(self, offset: int, length: int) -> Chunk:
        self.asked.append((offset, length))
        return _BytesChunk(self.data[offset : offset + length])


class _BytesChunk:
    def __init__(self, data: bytes) -> None:
        self._stream = io.BytesIO(data)
        self._length = len(data)

    def __len__(self) -> int:
        return self._length

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(size)


def _uploader(fake: FakeV3, source: _RecordingSource | UploadSource) -> ResumableUploader:
    settings = Settings.resolve(api_key=TOKEN, base_url=fake.base_url, backoff_base=0.001, max_retries=4)
    endpoint = TusEndpoint(settings.tus_endpoint, Transport(settings), token=TOKEN)
    return ResumableUploader(
        endpoint, source, metadata=METADATA, chunk_size=CHUNK, store=SQLiteStore(), token_digest="digest"
    )


def test_the_uploader_reads_any_chunk_source_only_by_offset(fake: FakeV3) -> None:
    data = os.urandom(5 * CHUNK + 123)
    source = _RecordingSource(data)
    fake.fail("PATCH", "tus-upload", "pass", "drop", 409, "pass", 500)
    _uploader(fake, source).upload()
    assert bytes(fake.only_upload().data) == data
    # What a forward-only source relies on: each chunk asked starts where the server stands, never
    # before the chunk asked just before it, and never past its end (so one chunk kept is enough).
    for (before, before_length), (offset, length) in zip(source.asked, source.asked[1:], strict=False):
        assert before <= offset <= before + before_length
        assert length == min(CHUNK, len(data) - offset)
    assert source.asked[-1][0] + source.asked[-1][1] == len(data)
    assert len(source.asked) > 6  # the faults made it ask again


def test_a_source_that_ends_early_fails_the_upload_clearly(fake: FakeV3) -> None:
    data = os.urandom(3 * CHUNK)
    stream = io.BytesIO(data)
    source = UploadSource(stream=stream, size=len(data), fingerprint="f", name=None)
    uploader = _uploader(fake, source)
    stream.truncate(CHUNK + 10)  # the file shrank after it was measured
    with pytest.raises(UploadError, match="ended before its announced size"):
        uploader.upload()


def test_upload_source_hands_out_exactly_the_chunk_asked() -> None:
    data = bytes(range(256)) * 40
    with open_source(io.BytesIO(data)) as source:
        chunk = source.chunk(1000, 3000)
        assert len(chunk) == 3000
        parts = [chunk.read(1024) for _ in range(4)]
        assert b"".join(parts) == data[1000:4000] and parts[-1] == b""
        assert source.chunk(len(data), 0).read() == b""
        for offset, length in [(-1, 10), (0, len(data) + 1), (len(data) - 5, 6)]:
            with pytest.raises(ValueError):
                source.chunk(offset, length)


def test_metadata_encoding_and_the_headers_of_each_request() -> None:
    assert encode_metadata({"filename": "é.wav", "n": ""}) == "filename w6kud2F2,n "
    assert encode_metadata({}) is None
    with pytest.raises(ValueError):
        encode_metadata({"a b": "x"})
    # No Upload-Metadata at all rather than an empty one (@tus/server refuses an empty header).
    assert creation_headers(0, {}) == {"Tus-Resumable": "1.0.0", "Upload-Length": "0"}
    assert creation_headers(7, {"k": "v"})["Upload-Metadata"] == "k dg=="
    assert patch_headers(42) == {
        "Tus-Resumable": "1.0.0",
        "Upload-Offset": "42",
        "Content-Type": "application/offset+octet-stream",
    }


@pytest.mark.parametrize(
    ("header", "expected"),
    [("12", 12), (" 7 ", 7), ("0", 0), (None, None), ("", None), ("-1", None), ("1e3", None), ("\u0661\u0662", None)],
)
def test_integer_headers_are_plain_decimal_numbers(header: str | None, expected: int | None) -> None:
    assert int_value(header) == expected
