"""Bytes kept for sending again: in memory up to a bound, in one temporary file above it.

A forward-only body (a request body, a pipe) can be read once. :class:`ChunkKeep` holds what
must survive a failed PATCH (the chunk in flight) or a failed check (the prefix of a retried
body); :class:`ReplayStream` gives kept bytes back, then the rest of the stream they came from;
:func:`read_some` reads whatever a stream has ready, up to a limit, and turns every way a read
can fail into one clear :class:`~compat.errors.UploadError`.
"""

from __future__ import annotations

import io
import tempfile
from typing import IO

from compat.errors import UploadError

__all__ = ["MEMORY_BOUND", "ChunkKeep", "ReplayStream", "read_some"]

MEMORY_BOUND = 8 * 1024 * 1024
"""Kept bytes up to this size stay in memory; a larger capacity goes to a temporary file."""


def read_some(stream: IO[bytes], limit: int) -> bytes:
    """At most ``limit`` bytes of ``stream``, as soon as it has some (``read1`` when it has one).

    ``b""`` means the stream ended. A stream that fails, answers text, or is non-blocking with
    nothing ready raises :class:`UploadError` (the cause chained), so that a client that went
    away never looks like an upstream connection failure.
    """
    reader = getattr(stream, "read1", None)
    try:
        data = reader(limit) if callable(reader) else stream.read(limit)
    except UploadError:
        raise
    except Exception as exc:
        raise UploadError(f"reading the body failed ({type(exc).__name__}: {exc})") from exc
    if data is None:
        raise UploadError("the body is a non-blocking stream with nothing ready; pass a blocking stream")
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError("the stream must be opened in binary mode (it returned text)")
    if len(data) > limit:
        raise UploadError(f"the body stream returned {len(data)} bytes when asked for at most {limit}")
    return bytes(data)


class ChunkKeep:
    """A copy of the bytes that may have to be sent again, filled in order and read at will.

    :meth:`reset` says how many bytes will come (the capacity): up to ``memory_bound`` they are
    kept in one preallocated buffer, above it in a temporary file (created once, in
    ``spool_dir``, reused and truncated for each capacity). Memory never exceeds the bound plus
    the block being copied.
    """

    def __init__(self, *, memory_bound: int = MEMORY_BOUND, spool_dir: str | None = None) -> None:
        if memory_bound < 0:
            raise ValueError("memory_bound must not be negative")
        self.memory_bound = memory_bound
        self.spool_dir = spool_dir
        self.size = 0
        self.capacity = 0
        self._buffer: bytearray | None = None
        self._spool: IO[bytes] | None = None
        self._on_disk = False

    def __repr__(self) -> str:
        where = "disk" if self._on_disk else "memory"
        return f"ChunkKeep(size={self.size}, capacity={self.capacity}, in {where})"

    @property
    def on_disk(self) -> bool:
        """Whether the current capacity is kept in the temporary file."""
        return self._on_disk

    def reset(self, capacity: int) -> None:
        """Forget what is kept; the next :meth:`append` calls bring at most ``capacity`` bytes."""
        if capacity < 0:
            raise ValueError("capacity must not be negative")
        self.size = 0
        self.capacity = capacity
        self._on_disk = capacity > self.memory_bound
        if not self._on_disk:
            if self._buffer is None or len(self._buffer) < capacity:
                self._buffer = None  # let the old one go before the new one is made
                self._buffer = bytearray(capacity)
            return
        self._buffer = None
        if self._spool is None:
            self._spool = tempfile.TemporaryFile(prefix="scriptix-compat-chunk-", dir=self.spool_dir)  # noqa: SIM115 - lives with self
        self._spool.seek(0)
        self._spool.truncate()

    def append(self, data: bytes) -> None:
        """Keep ``data`` after the bytes already kept."""
        end = self.size + len(data)
        if end > self.capacity:
            raise ValueError(f"{end} bytes do not fit a keep of {self.capacity}")
        if self._on_disk:
            assert self._spool is not None
            self._spool.seek(self.size)
            self._spool.write(data)
        else:
            assert self._buffer is not None
            self._buffer[self.size : end] = data
        self.size = end

    def read(self, at: int, count: int) -> bytes:
        """Up to ``count`` kept bytes from position ``at`` (fewer only at the end of what is kept)."""
        if not 0 <= at <= self.size or count < 0:
            raise ValueError(f"no {count} bytes at {at} in a keep of {self.size}")
        count = min(count, self.size - at)
        if count == 0:
            return b""
        if self._on_disk:
            assert self._spool is not None
            self._spool.seek(at)
            data = self._spool.read(count)
            if len(data) != count:
                raise UploadError("the temporary copy of the chunk in flight was changed or truncated")
            return data
        assert self._buffer is not None
        with memoryview(self._buffer) as view:
            return bytes(view[at : at + count])

    def close(self) -> None:
        """Drop the buffer and delete the temporary file."""
        self._buffer = None
        if self._spool is not None:
            self._spool.close()
            self._spool = None
        self.size = self.capacity = 0


class ReplayStream(io.RawIOBase):
    """The bytes of a :class:`ChunkKeep` (from its start), then the rest of ``rest``.

    It owns the keep (closing the stream closes it), not ``rest``, which stays its caller's.
    """

    def __init__(self, kept: ChunkKeep, rest: IO[bytes], *, rest_ended: bool = False) -> None:
        super().__init__()
        self._kept = kept
        self._position = 0
        self._rest = rest
        self._rest_ended = rest_ended

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        limit = size
        if self._position < self._kept.size:
            data = self._kept.read(self._position, limit)
            self._position += len(data)
            return data
        if self._rest_ended or limit == 0:
            return b""
        return read_some(self._rest, limit)

    def read1(self, size: int = -1) -> bytes:
        return self.read(size if size >= 0 else io.DEFAULT_BUFFER_SIZE)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._kept.close()
        super().close()
