"""Chunk receipts and verify-then-continue: the pieces a retried body is checked with."""

from __future__ import annotations

import hashlib
import io
import os

import pytest

from compat import UploadError
from compat.v3.receipts import ChunkReceipt, ReceiptTracker, digest_of, verify_prefix
from compat.v3.spool import ChunkKeep, ReplayStream, read_some

KiB = 1024


class Pipe(io.RawIOBase):
    """A non-seekable stream over ``data``, at most ``block`` bytes per read; counts what was read."""

    def __init__(self, data: bytes, block: int = 4096) -> None:
        self._data = data
        self._block = block
        self.position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        count = min(len(buffer), self._block, len(self._data) - self.position)
        buffer[:count] = self._data[self.position : self.position + count]
        self.position += count
        return count


def receipts_of(data: bytes, size: int) -> list[ChunkReceipt]:
    return [ChunkReceipt(o, len(data[o : o + size]), digest_of(data[o : o + size])) for o in range(0, len(data), size)]


def test_tracker_issues_one_receipt_per_confirmed_run_hashing_each_byte_once() -> None:
    data = os.urandom(300 * KiB)
    issued: list[ChunkReceipt] = []
    tracker = ReceiptTracker(issued.append)
    tracker.begin(0)
    # Chunk 1 goes out whole and is confirmed.
    tracker.passed(0, data[: 100 * KiB])
    tracker.confirmed(100 * KiB)
    # Chunk 2 fails after 70 KiB went out, the server kept 40 KiB: the rest is resent from there.
    tracker.passed(100 * KiB, data[100 * KiB : 170 * KiB])
    tracker.confirmed(140 * KiB)
    assert len(issued) == 1  # a run is issued only when the server holds every byte hashed
    tracker.passed(140 * KiB, data[140 * KiB : 200 * KiB])  # 30 KiB of it a second time
    tracker.confirmed(200 * KiB)
    tracker.passed(200 * KiB, data[200 * KiB :])
    tracker.confirmed(len(data))
    assert issued == [
        ChunkReceipt(0, 100 * KiB, digest_of(data[: 100 * KiB])),
        ChunkReceipt(100 * KiB, 100 * KiB, digest_of(data[100 * KiB : 200 * KiB])),
        ChunkReceipt(200 * KiB, 100 * KiB, digest_of(data[200 * KiB :])),
    ]


def test_verify_prefix_matches_and_leaves_the_stream_at_the_offset() -> None:
    data = os.urandom(500 * KiB)
    pipe = Pipe(data)
    check = verify_prefix(pipe, receipts_of(data[: 300 * KiB], 100 * KiB), 300 * KiB, keep_limit=64 * KiB)
    assert check.matched and check.verified == 300 * KiB and check.tail is None and check.replay is None
    assert pipe.position == 300 * KiB  # read exactly up to the server's offset, not a byte more
    assert pipe.read(10) == data[300 * KiB : 300 * KiB + 10]


def test_verify_prefix_mismatch_replays_every_byte_read_then_the_rest() -> None:
    sent = os.urandom(400 * KiB)
    retried = sent[: 100 * KiB] + os.urandom(300 * KiB)  # the second chunk differs
    pipe = Pipe(retried)
    check = verify_prefix(pipe, receipts_of(sent[: 300 * KiB], 100 * KiB), 300 * KiB, keep_limit=1 << 20)
    assert not check.matched and check.verified == 100 * KiB
    assert check.reason is not None and "differ" in check.reason
    assert pipe.position == 200 * KiB  # it stopped at the chunk that differs
    assert check.replay is not None
    assert check.replay.read() == retried  # nothing read while checking is lost
    check.replay.close()


def test_verify_prefix_mismatch_past_the_keep_limit_has_no_replay() -> None:
    sent = os.urandom(300 * KiB)
    retried = sent[: 200 * KiB] + os.urandom(100 * KiB)
    check = verify_prefix(Pipe(retried), receipts_of(sent, 100 * KiB), 300 * KiB, keep_limit=150 * KiB)
    assert not check.matched and check.verified == 200 * KiB and check.replay is None


@pytest.mark.parametrize("trust", [False, True])
def test_bytes_no_receipt_covers_count_only_when_trusted(trust: bool) -> None:
    data = os.urandom(260 * KiB)
    # Receipts cover 200 KiB; the server holds 230 KiB (a PATCH was in flight when the gateway died).
    receipts = receipts_of(data[: 200 * KiB], 100 * KiB)
    pipe = Pipe(data)
    check = verify_prefix(pipe, receipts, 230 * KiB, keep_limit=64 * KiB, trust_unrecorded=trust)
    assert check.matched is trust
    if trust:
        assert check.verified == 200 * KiB and pipe.position == 230 * KiB
        assert check.tail == ChunkReceipt(200 * KiB, 30 * KiB, digest_of(data[200 * KiB : 230 * KiB]))
    else:
        assert check.reason is not None and "cannot be checked" in check.reason
        assert pipe.position == 0  # known before reading: the body is left whole for a new upload
        assert check.replay is not None and check.replay.read() == data
        check.replay.close()


def test_a_retried_body_shorter_than_the_server_offset_does_not_match() -> None:
    data = os.urandom(120 * KiB)
    check = verify_prefix(Pipe(data), receipts_of(data[: 100 * KiB], 100 * KiB), 200 * KiB, keep_limit=1 << 20)
    assert not check.matched and check.reason is not None and "ended" in check.reason
    assert check.replay is not None and check.replay.read() == data
    check.replay.close()


def test_receipts_as_store_rows_and_a_digest_of_another_kind() -> None:
    data = os.urandom(100 * KiB)
    row = (0, len(data), digest_of(data))
    assert verify_prefix(Pipe(data), [row], len(data), keep_limit=0).matched
    other = (0, len(data), "md5:" + hashlib.md5(data).hexdigest())
    assert not verify_prefix(Pipe(data), [other], len(data), keep_limit=0).matched
    wrong = (0, len(data), "sha256:" + "0" * 64)
    assert not verify_prefix(Pipe(data), [wrong], len(data), keep_limit=0).matched


def test_receipts_of_an_earlier_version_blake2b_still_check() -> None:
    data = os.urandom(100 * KiB)
    older = (0, len(data), "blake2b-160:" + hashlib.blake2b(data, digest_size=20).hexdigest())
    assert verify_prefix(Pipe(data), [older], len(data), keep_limit=0).matched
    changed = bytes([data[0] ^ 1]) + data[1:]
    assert not verify_prefix(Pipe(changed), [older], len(changed), keep_limit=0).matched
    with pytest.raises(TypeError):
        verify_prefix(Pipe(data), ["nonsense"], len(data), keep_limit=0)  # type: ignore[list-item]


def test_chunk_keep_goes_to_disk_above_the_memory_bound() -> None:
    keep = ChunkKeep(memory_bound=10)
    keep.reset(8)
    keep.append(b"abcd")
    keep.append(b"efgh")
    assert not keep.on_disk and keep.read(2, 100) == b"cdefgh"
    with pytest.raises(ValueError):
        keep.append(b"x")
    keep.reset(20)
    keep.append(b"0123456789abcdefghij")
    assert keep.on_disk and keep.read(15, 3) == b"fgh" and keep.read(20, 3) == b""
    replay = ReplayStream(keep, Pipe(b"rest"))
    assert replay.read() == b"0123456789abcdefghijrest"
    replay.close()


def test_read_some_turns_a_failing_stream_into_an_upload_error() -> None:
    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
            raise ConnectionResetError("client went away")

    with pytest.raises(UploadError, match="reading the body failed") as caught:
        read_some(Broken(), 10)
    assert isinstance(caught.value.__cause__, ConnectionResetError)
    with pytest.raises(TypeError):
        read_some(io.StringIO("text"), 10)  # type: ignore[arg-type]
