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

    def chunk(self, offset: int, limit: int) -> Chunk:
        self.asked.append((offset, limit))
        return _BytesChunk(self.data[offset : offset + limit])


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
    assert all(limit == CHUNK for _, limit in source.asked)
    for (before, _), (offset, _) in zip(source.asked, source.asked[1:], strict=False):
        assert before <= offset <= min(before + CHUNK, len(data))
    assert source.asked[-1][0] > len(data) - CHUNK  # the last chunk was the source's end
    assert len(source.asked) > 6  # the faults made it ask again


def test_an_upload_offset_beyond_the_bytes_sent_is_not_believed(fake: FakeV3) -> None:
    data = os.urandom(4 * CHUNK)
    source = _RecordingSource(data)
    # The second PATCH (bytes CHUNK..2*CHUNK) is answered 204 with an offset past what it carried.
    fake.fail("PATCH", "tus-upload", "pass", (204, {"Upload-Offset": str(2 * CHUNK + 1)}))
    _uploader(fake, source).upload()
    assert bytes(fake.only_upload().data) == data
    # Not believed: the offset is asked (HEAD) and that chunk sent again; nothing is skipped.
    assert [offset for offset, _ in source.asked] == [0, CHUNK, CHUNK, 2 * CHUNK, 3 * CHUNK]
    assert fake.count("HEAD", "tus-head") == 1


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
        tail = source.chunk(len(data) - 5, 1024)  # fewer bytes than asked only at the end
        assert len(tail) == 5 and tail.read(1024) == data[-5:] and tail.read(1024) == b""
        assert len(source.chunk(len(data), 1024)) == 0
        for offset, limit in [(-1, 10), (len(data) + 1, 10), (0, -1)]:
            with pytest.raises(ValueError):
                source.chunk(offset, limit)


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
