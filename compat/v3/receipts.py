"""Chunk receipts: what the server confirmed, hashed as it went out, to check a retried body against.

A forward-only body cannot be fingerprinted before it is sent (that would mean reading it all
first), so a caller that wants to resume it after a crash keys the upload itself (the V1 session,
say) and keeps a :class:`ChunkReceipt` for each run of bytes the server confirmed. The uploader
makes them with :class:`ReceiptTracker`, hashing each byte once as the PATCH body reads it, never
before; :func:`verify_prefix` later reads a retried body up to the server's offset and compares.

Receipts are contiguous from where the upload started (or resumed), one per chunk in the common
case; a chunk whose PATCH failed midway gets one receipt, issued when the server has confirmed it
whole. So after a crash, the bytes of the PATCH that was in flight are on the server without a
receipt: :func:`verify_prefix` calls them *unrecorded*, and whether they count as matching is the
caller's choice (``trust_unrecorded``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO, NamedTuple, Protocol, cast

from compat.v3.spool import MEMORY_BOUND, ChunkKeep, ReplayStream, read_some

__all__ = [
    "DIGEST_PREFIX",
    "ChunkCallback",
    "ChunkReceipt",
    "PrefixCheck",
    "ReceiptTracker",
    "as_receipt",
    "digest_of",
    "verify_prefix",
]


class _Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...

    def hexdigest(self) -> str: ...


DIGEST_PREFIX = "sha256:"
"""Every receipt digest starts with the name of its algorithm (a digest of another kind never matches).

New receipts are SHA-256 (hardware-accelerated on current CPUs: about half the CPU of BLAKE2b per byte,
measured in bench/RESULTS.md); receipts stored by earlier versions (``blake2b-160:``) are still checked
with their own algorithm."""

_ALGORITHMS: dict[str, Callable[[], _Hasher]] = {
    DIGEST_PREFIX: hashlib.sha256,
    "blake2b-160:": lambda: hashlib.blake2b(digest_size=20),
}

_BLOCK = 1024 * 1024

ChunkCallback = Callable[["ChunkReceipt"], None]


class ChunkReceipt(NamedTuple):
    """Bytes ``[offset, offset + length)`` of an upload, confirmed by the server, and their digest."""

    offset: int
    length: int
    digest: str


def _hasher(prefix: str = DIGEST_PREFIX) -> _Hasher:
    return _ALGORITHMS.get(prefix, _ALGORITHMS[DIGEST_PREFIX])()


def _prefix(digest: str) -> str:
    return digest.partition(":")[0] + ":"


def _text(hasher: _Hasher, prefix: str = DIGEST_PREFIX) -> str:
    return prefix + hasher.hexdigest()


def digest_of(data: bytes) -> str:
    """The receipt digest of ``data`` (for tests and for callers that hold the bytes anyway)."""
    hasher = _hasher()
    hasher.update(data)
    return _text(hasher)


class ReceiptTracker:
    """Hashes the bytes of PATCH bodies as they are read, and issues a receipt per confirmed run.

    The uploader calls :meth:`begin` where the upload starts or resumes, :meth:`passed` with every
    block a body hands out (at its absolute position: a resent block is hashed only once), and
    :meth:`confirmed` with every offset the server reports. When the server holds every byte
    hashed so far, the run since the last receipt is issued as one :class:`ChunkReceipt`.
    """

    def __init__(self, emit: ChunkCallback) -> None:
        self._emit = emit
        self._start = 0
        self._hashed_to = 0
        self._hasher = _hasher()

    def begin(self, offset: int) -> None:
        """Receipts go on from ``offset`` (a new upload: 0; a resumed one: the server's offset)."""
        self._start = self._hashed_to = offset
        self._hasher = _hasher()

    def passed(self, position: int, data: bytes) -> None:
        """``data`` left in a PATCH body at ``position``."""
        if position > self._hashed_to:
            # Bytes the tracker never saw (a server offset past what was sent): no receipt can
            # cover them, so the next one starts here.
            self.begin(position)
        end = position + len(data)
        if end > self._hashed_to:
            self._hasher.update(data[self._hashed_to - position :])
            self._hashed_to = end

    def report(self, receipt: ChunkReceipt) -> None:
        """Pass on a receipt made elsewhere (bytes checked on resume that no receipt covered)."""
        self._emit(receipt)

    def confirmed(self, offset: int) -> None:
        """The server now holds ``offset`` bytes."""
        if offset < self._start:
            self.begin(offset)  # the server lost bytes (or the upload): receipts start again there
        elif offset == self._hashed_to and offset > self._start:
            receipt = ChunkReceipt(self._start, offset - self._start, _text(self._hasher))
            self.begin(offset)
            self._emit(receipt)


@dataclass
class PrefixCheck:
    """What :func:`verify_prefix` found.

    Attributes:
        matched: the body's first ``offset`` bytes may be taken as the ones the server holds; the
            stream now stands at ``offset`` (the bytes read are dropped).
        offset: the server's offset that was checked against.
        verified: ``[0, verified)`` was compared with receipts and found equal.
        reason: why not ``matched`` (None when matched).
        tail: when matched, the bytes ``[verified, offset)`` no receipt covered, as read now (a
            receipt for the caller to record, so that a later retry can check them); else None.
        replay: when not matched, a stream of every byte read, then the rest of the body, for a
            new upload from 0; None when more was read than ``keep_limit`` (then the body cannot
            be sent again now). The caller closes it.
    """

    matched: bool
    offset: int
    verified: int
    reason: str | None = None
    tail: ChunkReceipt | None = None
    replay: IO[bytes] | None = None


def verify_prefix(
    stream: IO[bytes],
    receipts: Iterable[ChunkReceipt],
    offset: int,
    *,
    keep_limit: int,
    trust_unrecorded: bool = False,
    memory_bound: int = MEMORY_BOUND,
    spool_dir: str | None = None,
) -> PrefixCheck:
    """Read ``stream``'s first ``offset`` bytes and check them, receipt by receipt (verify-then-continue).

    The receipts are used in order from 0 while they are contiguous and end at or before
    ``offset``; reading stops at the first one that differs. Bytes past the last usable receipt
    are *unrecorded* (a PATCH was in flight when the earlier attempt died): they count as matching
    only with ``trust_unrecorded``; without it, such an ``offset`` does not match, which is known
    before anything is read (so nothing is). A body that ends before ``offset`` does not match.

    Every byte read is kept (memory up to ``memory_bound``, then one temporary file) up to
    ``keep_limit`` bytes, so that on a mismatch a new upload can start from 0 with nothing lost
    (:attr:`PrefixCheck.replay`). Past ``keep_limit`` the bytes are only hashed: a mismatch found
    after that has no replay. Memory stays within the bound whatever ``offset`` is.
    """
    if offset < 0 or keep_limit < 0:
        raise ValueError("offset and keep_limit must not be negative")
    usable: list[ChunkReceipt] = []
    covered = 0
    for receipt in sorted(map(as_receipt, receipts), key=lambda r: (r.offset, r.length)):
        if receipt.offset < covered:
            continue  # a duplicate or an overlap: the first receipt of a position rules
        if receipt.offset > covered or receipt.length <= 0 or receipt.offset + receipt.length > offset:
            break
        usable.append(receipt)
        covered += receipt.length
    keep = ChunkKeep(memory_bound=memory_bound, spool_dir=spool_dir)
    if covered < offset and not trust_unrecorded:
        # Known before reading a byte: nothing is read, the body goes up again from its start.
        return PrefixCheck(
            matched=False,
            offset=offset,
            verified=0,
            reason=(
                f"bytes {covered}-{offset} reached the server in a request that ended before it confirmed "
                "them, so they cannot be checked"
            ),
            replay=cast(IO[bytes], ReplayStream(keep, stream)),
        )
    keep.reset(min(offset, keep_limit))
    read = 0
    ended = False

    def consume(count: int, hasher: _Hasher) -> int:
        nonlocal read, ended
        got = 0
        while got < count:
            data = read_some(stream, min(_BLOCK, count - got))
            if not data:
                ended = True
                break
            hasher.update(data)
            room = keep.capacity - keep.size
            if room > 0:
                keep.append(data[:room])
            got += len(data)
        read += got
        return got

    try:
        verified = 0
        reason: str | None = None
        for receipt in usable:
            kind = _prefix(receipt.digest)
            hasher = _hasher(kind)
            if consume(receipt.length, hasher) < receipt.length:
                reason = f"the body ended after {read} bytes, before the {offset} the server holds"
                break
            if kind not in _ALGORITHMS or _text(hasher, kind) != receipt.digest:
                reason = (
                    f"bytes {receipt.offset}-{receipt.offset + receipt.length} of the body differ from the "
                    "ones sent before"
                )
                break
            verified += receipt.length
        tail: ChunkReceipt | None = None
        if reason is None and verified < offset:
            hasher = _hasher()
            if consume(offset - verified, hasher) < offset - verified:
                reason = f"the body ended after {read} bytes, before the {offset} the server holds"
            else:
                tail = ChunkReceipt(verified, offset - verified, _text(hasher))
    except BaseException:
        keep.close()
        raise
    if reason is None:
        keep.close()
        return PrefixCheck(matched=True, offset=offset, verified=verified, tail=tail)
    if read > keep.size:
        keep.close()
        return PrefixCheck(matched=False, offset=offset, verified=verified, reason=reason)
    return PrefixCheck(
        matched=False,
        offset=offset,
        verified=verified,
        reason=reason,
        replay=cast(IO[bytes], ReplayStream(keep, stream, rest_ended=ended)),
    )


def as_receipt(receipt: object) -> ChunkReceipt:
    """``receipt`` as a :class:`ChunkReceipt`: a 3-tuple (a store row) or an object with the three fields."""
    try:
        if isinstance(receipt, tuple):
            offset, length, digest = receipt
        else:
            offset, length, digest = receipt.offset, receipt.length, receipt.digest  # type: ignore[attr-defined]
    except (AttributeError, TypeError, ValueError):
        raise TypeError(f"not a chunk receipt: {type(receipt).__name__}") from None
    if not (isinstance(offset, int) and isinstance(length, int) and isinstance(digest, str)):
        raise TypeError("a chunk receipt is (offset: int, length: int, digest: str)")
    return ChunkReceipt(offset, length, digest)
