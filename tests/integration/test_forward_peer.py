"""Bodies that cannot seek against the real TUS peer (``@tus/server`` + ``@tus/file-store``).

``@tus/server`` advertises ``creation-defer-length``: a body of unknown length is created with
``Upload-Defer-Length: 1`` and its length declared with the last PATCH; a body of known length is
sent as it is read. Both survive the server being killed and restarted mid-upload.
"""

from __future__ import annotations

import io
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from test_tus_server_peer import CHUNK, METADATA, MiB, assert_stored, make_client, only_upload, server_offset
from tus_server import TusServer

from compat import UploadError
from compat.v3.receipts import ChunkReceipt

pytestmark = pytest.mark.integration


class Pipe(io.RawIOBase):
    """A request body: cannot seek, 16 KiB per read; ``end_at`` ends it early (a client gone)."""

    def __init__(self, data: bytes, *, end_at: int | None = None) -> None:
        self._data = data if end_at is None else data[:end_at]
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        count = min(len(buffer), 16 * 1024, len(self._data) - self.position)
        buffer[:count] = self._data[self.position : self.position + count]
        self.position += count
        return count


def test_unknown_length_is_deferred_and_declared_with_the_last_patch(tus_server: TusServer, tmp_path: Path) -> None:
    data = os.urandom(MiB + 123)
    sizes_seen: list[int | None] = []

    def watch(done: int, total: int) -> None:
        uploads = tus_server.uploads()
        if uploads:
            sizes_seen.append(uploads[0].size)

    client = make_client(tus_server, tmp_path)
    try:
        result = client.upload(Pipe(data), metadata=METADATA, on_progress=watch)
    finally:
        client.close()
    assert_stored(tus_server, data, result)
    assert None in sizes_seen  # the server held the upload with its length deferred
    assert result.size == len(data)


@pytest.mark.parametrize("length_known", [False, True], ids=["deferred-length", "known-length"])
def test_a_stream_survives_the_server_killed_and_restarted(
    tus_server: TusServer, tmp_path: Path, length_known: bool
) -> None:
    data = os.urandom(2 * MiB + 77)
    restarter: threading.Thread | None = None
    crash: dict[str, Any] = {}

    def restart_later() -> None:
        try:
            time.sleep(0.5)
            tus_server.restart()
        except BaseException as exc:  # reported below
            crash["restart_error"] = exc

    def on_progress(done: int, total: int) -> None:
        nonlocal restarter
        if restarter is None and done >= CHUNK + CHUNK // 2:  # in the middle of the second PATCH
            tus_server.kill()
            crash["done"] = done
            restarter = threading.Thread(target=restart_later, daemon=True)
            restarter.start()

    pipe = Pipe(data)
    client = make_client(tus_server, tmp_path)
    try:
        result = client.upload(
            pipe, metadata=METADATA, on_progress=on_progress, length=len(data) if length_known else None
        )
    finally:
        client.close()
        if restarter is not None:
            restarter.join(timeout=30)
    assert restarter is not None and "restart_error" not in crash
    assert_stored(tus_server, data, result)
    assert pipe.position == len(data)  # read once: the chunk in flight was resent from the copy


@pytest.mark.parametrize("trust", [False, True], ids=["unrecorded-not-trusted", "unrecorded-trusted"])
def test_a_client_that_disconnects_then_sends_again(tus_server: TusServer, tmp_path: Path, trust: bool) -> None:
    data = os.urandom(MiB + 5)
    receipts: list[ChunkReceipt] = []
    end_at = 2 * CHUNK + 100 * 1024  # the client goes away inside the third chunk
    client = make_client(tus_server, tmp_path)
    try:
        with pytest.raises(UploadError, match="ended after") as caught:
            client.upload(
                Pipe(data, end_at=end_at),
                metadata=METADATA,
                length=len(data),
                resume_key="sess-1",
                on_chunk=receipts.append,
            )
        assert caught.value.upload_url is not None
        stored = only_upload(tus_server)
        # @tus/server kept what arrived of the cut PATCH: more than the receipts cover.
        offset = server_offset(tus_server, stored)
        assert sum(r.length for r in receipts) == 2 * CHUNK < offset <= end_at

        retried = Pipe(data)
        result = client.upload(
            retried, metadata=METADATA, length=len(data), resume_key="sess-1", receipts=receipts, trust_unrecorded=trust
        )
    finally:
        client.close()
    assert_stored(tus_server, data, result)  # one upload on the server: a replaced one is terminated
    assert result.resumed_from == (offset if trust else None)
    assert (result.upload_url == caught.value.upload_url) is trust
    assert retried.position == len(data)
