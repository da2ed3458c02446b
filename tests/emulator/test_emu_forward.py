"""Streams that cannot seek, uploaded by V3Client to the emulator: deferred or known length, through cut PATCHes."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest
from emu_helpers import METADATA, TOKEN, make_wav

from compat import V3Client
from compat.emulator import Emulator

KiB = 1024
CHUNK = 64 * KiB


class Pipe(io.RawIOBase):
    """A request body: cannot seek, 4 KiB per read; counts what was read."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        count = min(len(buffer), 4096, len(self._data) - self.position)
        buffer[:count] = self._data[self.position : self.position + count]
        self.position += count
        return count


@pytest.mark.parametrize("length_known", [False, True], ids=["deferred-length", "known-length"])
def test_a_stream_that_cannot_seek_arrives_whole_through_cut_patches(
    emu: Emulator, tmp_path: Path, length_known: bool
) -> None:
    data = make_wav(tmp_path / "talk.wav", seconds=21).read_bytes()  # about 5 chunks
    assert len(data) > 5 * CHUNK
    emu.faults.drop_patch = 3
    pipe = Pipe(data)
    with V3Client(api_key=TOKEN, base_url=emu.url, store=":memory:", chunk_size=CHUNK, backoff_base=0.01) as client:
        result = client.upload(pipe, METADATA, length=len(data) if length_known else None)
    assert emu.faults.injected["drop_patch"] == 3
    upload = emu.upload(result.upload_url)
    assert upload.complete and upload.length == len(data) == result.size
    assert hashlib.sha256(upload.path.read_bytes()).digest() == hashlib.sha256(data).digest()
    assert pipe.position == len(data)  # read once: the cut chunks were resent from the copy
    assert emu.wait_for_status(result.session_id or "", "done").session_id == result.session_id


def test_the_emulator_holds_a_deferred_length_until_the_last_patch(emu: Emulator) -> None:
    data = os.urandom(3 * CHUNK + 1)
    seen: list[int | None] = []
    with V3Client(api_key=TOKEN, base_url=emu.url, store=":memory:", chunk_size=CHUNK) as client:

        def watch(done: int, total: int) -> None:
            uploads = list(emu.uploads.values())
            if uploads:
                seen.append(uploads[0].length)

        result = client.upload(Pipe(data), METADATA, on_progress=watch)
    assert None in seen  # while the body was arriving, the emulator did not know its length
    assert emu.upload(result.upload_url).length == len(data)
