"""A forward-only upload source: a stream that cannot seek, sent as it is read.

:class:`ForwardSource` is a :class:`~compat.v3.source.ChunkSource` over a request body, a pipe or a
socket. Nothing is read ahead of the upload and nothing is hashed before it is sent:

* **Known length** (``size``, e.g. a ``Content-Length``). Each chunk is a *window* of the stream.
  The PATCH body reads the window from the stream as the socket asks for it, so the first PATCH
  leaves with the first block the client sent, not after a whole chunk; every block read is also
  copied into a :class:`~compat.v3.spool.ChunkKeep` (memory up to ``memory_bound``, one temporary
  file above it), so a failed PATCH is sent again from the copy, from the server's offset.
* **Unknown length** (``size=None``: a chunked request body) for a server with
  ``creation-defer-length``. A PATCH must announce its ``Content-Length``, so each window is
  filled before it is sent (still only one chunk kept), and one block is read ahead to find out
  whether the window is the last; :attr:`size` becomes known when the stream ends, and the
  uploader then sends ``Upload-Length`` with that last PATCH.

Only the window in flight is kept. The uploader asks chunks only from the server's confirmed
offset (see :class:`~compat.v3.source.ChunkSource`), so that is enough; asking for bytes before
the window (the server lost the upload) raises :class:`~compat.errors.UploadError` "cannot rewind
a forward-only body". A stream that ends before ``size`` raises :class:`UploadError` too, from
inside the PATCH: the upload is left on the server and in the store, to be resumed.

Resuming after a crash (:meth:`ForwardSource.resume_at`): the fingerprint is not a content hash,
so the caller keys the upload and hands in the :class:`~compat.v3.receipts.ChunkReceipt` list of
the earlier attempt; the body's first bytes, up to the server's offset, are read and checked
against it (:func:`~compat.v3.receipts.verify_prefix`) instead of being sent again.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import IO

from compat.closing import Closing
from compat.errors import UploadError
from compat.v3.receipts import ChunkReceipt, as_receipt, verify_prefix
from compat.v3.source import BoundedBody, Chunk
from compat.v3.spool import MEMORY_BOUND, ChunkKeep, read_some

__all__ = ["LOOKAHEAD", "ForwardSource"]

LOOKAHEAD = 64 * 1024
"""Bytes read past a full window of unknown length, to learn whether the stream ended there."""


class ForwardSource(Closing):
    """A non-seekable ``stream`` of ``size`` bytes (None: unknown until it ends), kept one chunk at a time.

    Args:
        stream: a binary stream; read with ``read1`` when it has one (whatever has arrived),
            else ``read``. Its end (``b""``) is the end of the body; a client that goes away must
            raise (or end early, when ``size`` is known), never look like the end. It stays open.
        size: the number of bytes the stream will give, or None (deferred length).
        fingerprint: the resume fingerprint; default: one of its own, so that an upload without a
            caller's resume key is never resumed by another run.
        memory_bound: the kept chunk stays in memory up to this size, in one temporary file above.
        spool_dir: where that file goes (default: the system's temporary directory).
        receipts: the receipts of an earlier attempt under the same resume key (:meth:`resume_at`).
        trust_unrecorded: whether bytes on the server that no receipt covers count as matching.
        prefix_keep: how much of the body read in :meth:`resume_at` is kept for a new upload
            when it does not match (see :func:`~compat.v3.receipts.verify_prefix`).
    """

    def __init__(
        self,
        stream: IO[bytes],
        size: int | None,
        *,
        fingerprint: str | None = None,
        memory_bound: int = MEMORY_BOUND,
        spool_dir: str | None = None,
        receipts: Iterable[ChunkReceipt] = (),
        trust_unrecorded: bool = False,
        prefix_keep: int = MEMORY_BOUND,
    ) -> None:
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
            raise ValueError("size must be a non-negative integer or None")
        self._stream = stream
        self._size = size
        kind = "deferred" if size is None else f"size={size}"
        self._fingerprint = fingerprint or f"forward:{kind}:once={uuid.uuid4().hex}"
        self._memory_bound = memory_bound
        self._spool_dir = spool_dir
        self._keep = ChunkKeep(memory_bound=memory_bound, spool_dir=spool_dir)
        self._receipts = [as_receipt(r) for r in receipts]
        self._trust_unrecorded = trust_unrecorded
        self._prefix_keep = prefix_keep
        self._start = 0  # the window: [start, end), bytes [start, read_to) of it read and kept
        self._end = 0
        self._read_to = 0
        self._opened = False
        self._pending = b""  # bytes read from the stream but not yet in a window (look-ahead)
        self._ended = False
        self._refusal: str | None = None
        self._replay: IO[bytes] | None = None

    def __repr__(self) -> str:
        return f"ForwardSource(size={self._size}, window=[{self._start}, {self._end}), read={self._read_to})"

    @property
    def size(self) -> int | None:
        """The body's length; None while a deferred-length stream has not ended."""
        return self._size

    @property
    def fingerprint(self) -> str:
        return self._fingerprint

    @property
    def kept_on_disk(self) -> bool:
        """Whether the chunk in flight is kept in the temporary file (it is larger than the memory bound)."""
        return self._keep.on_disk

    def close(self) -> None:
        """Drop the kept chunk (and any replayed prefix); the caller's stream stays open."""
        self._keep.close()
        if self._replay is not None:
            self._replay.close()
            self._replay = None

    # ChunkSource ------------------------------------------------------------------------------

    def chunk(self, offset: int, limit: int) -> Chunk:
        """At most ``limit`` bytes from ``offset``, which the server has confirmed.

        ``offset`` past the window opens the next one (the window just sent is then dropped);
        ``offset`` inside it is a resend of the rest of the window, from the copy and then from
        the stream. Raises :class:`UploadError` for an offset before the window (cannot rewind)
        or past the bytes read.
        """
        if limit < 1:
            raise ValueError("limit must be at least 1 byte")
        if self._refusal is not None:
            raise UploadError(self._refusal)
        if offset < self._start:
            raise UploadError(
                f"cannot rewind a forward-only body: bytes from {offset} were asked for, but only the chunk "
                f"from byte {self._start} is kept; the request must be sent again"
            )
        if offset > self._read_to:
            raise UploadError(
                f"the server reports {offset} bytes, but only {self._read_to} have been read from the body"
            )
        if not self._opened or offset >= self._end:
            self._open_window(offset, limit)
        return _WindowChunk(self, offset, min(limit, self._end - offset))

    def resume_at(self, offset: int) -> list[ChunkReceipt] | None:
        """Get ready to go on with an upload the server holds ``offset`` bytes of; before any chunk.

        Reads the body's first ``offset`` bytes and checks them against the receipts. Matched:
        the source stands at ``offset`` and the answer lists a receipt for bytes no receipt
        covered (to record). Not matched: None, and the source starts again from 0 with the bytes
        read (the uploader then replaces the stored upload), or, when more was read than
        ``prefix_keep``, refuses every chunk with the reason.
        """
        if self._opened or self._read_to or self._pending:
            raise RuntimeError("resume_at comes before any chunk is read")
        if self._size is not None and offset > self._size:
            self._refusal = f"the server holds {offset} bytes of an upload of a {self._size}-byte body"
            return None
        check = verify_prefix(
            self._stream,
            self._receipts,
            offset,
            keep_limit=self._prefix_keep,
            trust_unrecorded=self._trust_unrecorded,
            memory_bound=self._memory_bound,
            spool_dir=self._spool_dir,
        )
        if check.matched:
            self._start = self._end = self._read_to = offset
            self._opened = True
            return [check.tail] if check.tail is not None else []
        if check.replay is None:
            self._refusal = (
                f"{check.reason}; the upload started for this body cannot go on, and more of the body was read "
                "while checking it than can be kept: the request must be sent again"
            )
            return None
        self._replay = self._stream = check.replay
        return None

    # the window -------------------------------------------------------------------------------

    def _open_window(self, offset: int, limit: int) -> None:
        self._start = offset
        if self._size is not None:
            self._end = min(offset + limit, self._size)
            self._keep.reset(self._end - offset)
            self._read_to = offset
            self._opened = True
            return
        # Unknown length: the whole window is read now (a PATCH announces its length), then a
        # little more to learn whether the stream ends with it.
        self._keep.reset(limit)
        self._opened = True
        self._read_to = self._end = offset
        while self._keep.size < limit and not self._ended:
            data = self._pull(limit - self._keep.size)
            if data:
                self._keep.append(data)
        if not self._ended and not self._pending:
            self._pending = read_some(self._stream, LOOKAHEAD)
            self._ended = not self._pending
        self._end = self._read_to = offset + self._keep.size
        if self._ended and not self._pending:
            self._size = self._end

    def _pull(self, limit: int) -> bytes:
        """Up to ``limit`` new bytes of the stream (look-ahead first); ``b""`` at its end."""
        if self._pending:
            data, self._pending = self._pending[:limit], self._pending[limit:]
            return data
        if self._ended:
            return b""
        data = read_some(self._stream, limit)
        if not data:
            self._ended = True
        return data

    def read_at(self, position: int, count: int) -> bytes:
        """Up to ``count`` bytes of the window from ``position``: the copy first, then the stream."""
        if position < self._start or position > self._read_to:
            raise UploadError(
                f"cannot rewind a forward-only body: byte {position} was asked for, but only bytes "
                f"{self._start}-{self._read_to} are kept"
            )
        if position < self._read_to:
            return self._keep.read(position - self._start, min(count, self._read_to - position))
        wanted = min(count, self._end - position)
        if wanted <= 0:
            return b""
        data = self._pull(wanted)
        if not data:
            self._refusal = (
                f"the body ended after {self._read_to} of its {self._size} bytes (did the client disconnect?); "
                "the upload is kept and can be resumed"
            )
            raise UploadError(self._refusal)
        self._keep.append(data)
        self._read_to += len(data)
        return data


class _WindowChunk(BoundedBody):
    """``length`` bytes of a :class:`ForwardSource` window from ``offset``, read as the socket asks."""

    def __init__(self, source: ForwardSource, offset: int, length: int) -> None:
        super().__init__(length)
        self._source = source
        self._position = offset

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:  # a window read is partial: gather them
            parts = []
            while part := super().read(1 << 20):
                parts.append(part)
            return b"".join(parts)
        return super().read(size)

    def _take(self, count: int) -> bytes:
        data = self._source.read_at(self._position, count)
        self._position += len(data)
        return data
