"""What an upload reads from: a path or a binary stream, made seekable and identified.

Paths and seekable streams are read in place (from the stream's current position). A stream that
cannot seek (a pipe, a socket, a request body) is either sent as it is read, one chunk kept at a
time (:class:`~compat.v3.forward.ForwardSource`, when its length is known or the server takes a
deferred length), or, as here, first spooled to a temporary file in fixed-size blocks (at most
``max_size`` bytes), so memory stays bounded and a failed chunk can be sent again.

The uploader never seeks a stream itself: it asks its :class:`ChunkSource` for "at most ``limit``
bytes starting at ``offset``" and gets a :class:`Chunk`, a body read block by block as the socket
asks. :class:`UploadSource` (seekable or spooled) and :class:`~compat.v3.forward.ForwardSource`
implement it.

Each source has a fingerprint for resume across processes (:class:`SourceFingerprint`). Unlike
tuspy's default (size and the md5 of the first 64 KiB, which two different recordings can share),
it cannot confuse two different files: for a file on disk it is the device, inode, size and
modification time in nanoseconds plus hashes of the head and the tail; for a spooled stream it is
a BLAKE2b hash of every byte (unless the caller keys the upload itself). A caller that keys the
upload itself can also hand in the :class:`~compat.v3.receipts.ChunkReceipt` list of an earlier
attempt: a stored upload is then continued only if the bytes up to the server's offset match it.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO, Protocol, Union, cast

from tusclient.fingerprint.interface import Fingerprint

from compat.errors import InvalidRequestError, UploadError
from compat.v3.receipts import ChunkReceipt, verify_prefix

__all__ = [
    "BoundedBody",
    "Chunk",
    "ChunkSource",
    "FileInput",
    "SourceFingerprint",
    "UploadSource",
    "is_seekable",
    "open_source",
    "probe_empty",
]

FileInput = Union[str, "os.PathLike[str]", BinaryIO, IO[bytes]]

READ_BLOCK = 1024 * 1024
SAMPLE = 64 * 1024


class _Window(io.RawIOBase):
    """A read-only view of a seekable stream from ``start`` to its end, positions relative to ``start``."""

    def __init__(self, stream: IO[bytes], start: int) -> None:
        super().__init__()
        self._stream = stream
        self._start = start

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_SET:
            position = self._stream.seek(self._start + offset)
        else:
            position = self._stream.seek(offset, whence)
        return position - self._start

    def tell(self) -> int:
        return self._stream.tell() - self._start

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(size)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def fileno(self) -> int:
        return self._stream.fileno()

    def close(self) -> None:
        # The caller's stream stays open: it is theirs to close.
        super().close()


class Chunk(Protocol):
    """One PATCH body: exactly ``len(chunk)`` bytes, handed out by ``read`` as the socket asks.

    It has no ``seek``/``tell`` on purpose: the HTTP library must send it as it comes, once.
    """

    def __len__(self) -> int: ...

    def read(self, size: int = -1) -> bytes: ...


class ChunkSource(Protocol):
    """What a TUS upload reads from: its size, its resume fingerprint and its chunks by offset.

    ``chunk(offset, limit)`` is asked for the ``offset`` the server has confirmed and answers at
    most ``limit`` bytes from there, fewer only at the source's end or, when it resends a chunk
    from inside it, at the end of the chunk first handed out; the uploader sends ``len(chunk)``
    bytes and judges the server's new offset against that. After a failed PATCH the next ask is
    for the server's new offset, which lies between the failed chunk's start and its end; an
    offset before the last chunk asked for comes only when the server lost the upload and it
    starts again from 0 (and the uploader asks for 0 before creating the new upload). So a source
    that cannot go back (a forward-only stream) only needs to keep the chunk in flight, and may
    refuse the restart from 0 with an :class:`~compat.errors.UploadError`.

    ``size`` is None while the length is not known (a stream with a deferred length): it must be
    known once a chunk reaching the end has been handed out.

    ``resume_at(offset)`` comes before any chunk when a stored upload holds ``offset`` bytes:
    the source gets ready to go on from there and answers the receipts to record for bytes it
    checked that no receipt covered (usually none), or None when its bytes do not match the
    stored upload's, which is then replaced by a new one from 0.
    """

    @property
    def size(self) -> int | None: ...

    @property
    def fingerprint(self) -> str: ...

    def chunk(self, offset: int, limit: int) -> Chunk: ...

    def resume_at(self, offset: int) -> list[ChunkReceipt] | None: ...


class BoundedBody:
    """``length`` bytes handed out as they are read, never more: ``len()`` is ``length``, and a read
    asks :meth:`_take` for at most what is left (``read()`` without a size: all that is left).

    The one shape of a sized request body: a TUS chunk of a stream or of a forwarded body, and the
    gateway's ``wsgi.input`` of a known ``Content-Length``. Each says in :meth:`_take` where the
    bytes come from and what an early end means.
    """

    def __init__(self, length: int) -> None:
        self._length = length
        self._remaining = length

    def __len__(self) -> int:
        return self._length

    def read(self, size: int | None = -1) -> bytes:
        wanted = self._remaining if size is None or size < 0 else min(size, self._remaining)
        if wanted <= 0:
            return b""
        data = self._take(wanted)
        self._remaining -= len(data)
        return data

    def _take(self, count: int) -> bytes:
        """Up to ``count`` (> 0) of the next bytes; ``b""`` where they ended early (or raise)."""
        raise NotImplementedError


class _StreamChunk(BoundedBody):
    """``length`` bytes of a seekable stream from ``offset``, read only as the body is sent."""

    def __init__(self, stream: IO[bytes], offset: int, length: int) -> None:
        super().__init__(length)
        stream.seek(offset)
        self._stream = stream

    def _take(self, count: int) -> bytes:
        data = self._stream.read(count)
        if not data:
            raise UploadError("the source ended before its announced size (was it changed during the upload?)")
        return data


@dataclass
class UploadSource:
    """A seekable stream positioned at 0, its size and its resume fingerprint (a :class:`ChunkSource`).

    With ``receipts`` (an earlier attempt's, under a resume key of the caller's), a stored upload
    is continued only when the first bytes match them (bytes no receipt covers count as matching
    only with ``trust_unrecorded``); without, the fingerprint alone vouches for the bytes.
    """

    stream: IO[bytes]
    size: int
    fingerprint: str
    name: str | None
    receipts: Sequence[ChunkReceipt] | None = None
    trust_unrecorded: bool = False

    def chunk(self, offset: int, limit: int) -> Chunk:
        """Up to ``limit`` bytes from ``offset`` (fewer at the end), read from the stream as they are sent."""
        if not 0 <= offset <= self.size or limit < 0:
            raise ValueError(f"no chunk of {limit} bytes at {offset} in a source of {self.size}")
        return _StreamChunk(self.stream, offset, min(limit, self.size - offset))

    def resume_at(self, offset: int) -> list[ChunkReceipt] | None:
        """Ready to go on from ``offset``: checked against the receipts when there are any."""
        if self.receipts is None:
            return []
        self.stream.seek(0)
        check = verify_prefix(self.stream, self.receipts, offset, keep_limit=0, trust_unrecorded=self.trust_unrecorded)
        if not check.matched:
            return None
        return [check.tail] if check.tail is not None else []


class SourceFingerprint(Fingerprint):  # type: ignore[misc]
    """tuspy ``Fingerprint`` that cannot confuse two different files (see the module docstring)."""

    def get_fingerprint(self, fs: IO[bytes]) -> str:
        fs.seek(0, os.SEEK_END)
        size = fs.tell()
        stat = _stat_of(fs)
        digest = hashlib.blake2b(digest_size=20)
        if stat is not None and size == stat.st_size:
            identity = f"{stat.st_dev}:{stat.st_ino}:{stat.st_size}:{stat.st_mtime_ns}"
            digest.update(identity.encode())
            for offset in {0, max(0, size - SAMPLE)}:
                fs.seek(offset)
                digest.update(fs.read(SAMPLE))
            kind = "stat"
        else:
            fs.seek(0)
            for block in iter(lambda: fs.read(READ_BLOCK), b""):
                digest.update(block)
            kind = "content"
        fs.seek(0)
        return f"{kind}:size={size}:blake2b={digest.hexdigest()}"


def _stat_of(fs: IO[bytes]) -> os.stat_result | None:
    try:
        return os.fstat(fs.fileno())
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None


def _is_seekable(stream: IO[bytes]) -> bool:
    try:
        if not stream.seekable():
            return False
        stream.tell()
        return True
    except (AttributeError, OSError, ValueError):
        return False


def is_seekable(file: FileInput) -> bool:
    """Whether ``file`` is read in place: a path, or a stream that can seek (else it is a forward-only stream)."""
    if isinstance(file, str | os.PathLike):
        return True
    return hasattr(file, "read") and _is_seekable(file)


@contextmanager
def open_source(
    file: FileInput,
    *,
    spool_dir: str | None = None,
    max_size: int | None = None,
    hash_content: bool = True,
) -> Iterator[UploadSource]:
    """Open ``file`` (a path or a binary stream) as an :class:`UploadSource`; closes what it opened.

    A stream that cannot seek is spooled whole first: more than ``max_size`` bytes (when given) is
    refused with :class:`~compat.errors.InvalidRequestError` (413) before anything goes upstream.
    ``hash_content=False`` skips the hash of every byte (for a caller that keys the upload itself:
    the fingerprint is then only the size).
    """
    if isinstance(file, str | os.PathLike):
        path = Path(file)
        if not path.is_file():
            raise FileNotFoundError(f"not a readable file: {str(path)!r}")
        with open(path, "rb") as handle:
            yield _seekable_source(handle, path.name)
        return
    if not hasattr(file, "read") or isinstance(file, io.TextIOBase):
        raise TypeError(f"expected a path or a binary stream, got {type(file).__name__}")
    name = getattr(file, "name", None)
    name = Path(name).name if isinstance(name, str) and name else None
    if _is_seekable(file):
        window = _Window(file, file.tell())
        yield _seekable_source(window, name)  # type: ignore[arg-type]
        return
    with tempfile.TemporaryFile(prefix="scriptix-compat-spool-", dir=spool_dir) as spool:
        digest = hashlib.blake2b(digest_size=20)
        size = 0
        while True:
            block = file.read(READ_BLOCK)
            if not block:
                break
            if not isinstance(block, bytes | bytearray | memoryview):
                raise TypeError("the stream must be opened in binary mode (it returned text)")
            size += len(block)
            if max_size is not None and size > max_size:
                raise InvalidRequestError(
                    f"the body is larger than the {max_size} bytes that can be held before it is sent",
                    status_code=413,
                )
            if hash_content:
                digest.update(block)
            spool.write(block)
        spool.flush()
        spool.seek(0)
        fingerprint = f"content:size={size}:blake2b={digest.hexdigest()}" if hash_content else f"spooled:size={size}"
        yield UploadSource(stream=spool, size=size, fingerprint=fingerprint, name=name)


class _HeadThenRest(io.RawIOBase):
    """A stream that cannot seek, with its first bytes already read: those bytes, then the rest.

    ``read`` hands blocks through as the underlying stream returns them (no copy, no buffer of its own).
    """

    def __init__(self, head: bytes, rest: IO[bytes], name: str | None) -> None:
        super().__init__()
        self._head = head
        self._rest = rest
        self.name = name

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if self._head:
            if size is None or size < 0 or size >= len(self._head):
                head, self._head = self._head, b""
                return head
            head, self._head = self._head[:size], self._head[size:]
            return head
        data = self._rest.read(-1 if size is None else size)
        return bytes(data) if data else b""

    def read1(self, size: int = -1) -> bytes:
        """Like :meth:`read`, but from the rest only what one read of it gives (``read1`` if it has one)."""
        if self._head or size is None or size < 0:
            return self.read(size)
        reader = getattr(self._rest, "read1", None)
        data = reader(size) if callable(reader) else self._rest.read(size)
        return bytes(data) if data else b""

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        # The caller's stream stays open: it is theirs to close.
        super().close()


def probe_empty(file: FileInput) -> tuple[FileInput, bool]:
    """Whether ``file`` has no byte to upload, found out before anything is uploaded.

    A path is looked up (``stat``), a seekable stream measured from its current position (and left
    there). A stream that cannot seek has its first block (64 KiB at most) read ahead; the stream returned then
    gives that block back before the rest, and must be uploaded in place of ``file``. Anything
    :func:`open_source` would refuse (a missing path, a text stream) is returned as not empty,
    for the upload to refuse it as before.
    """
    if isinstance(file, str | os.PathLike):
        try:
            found = os.stat(file)
        except (OSError, ValueError):
            return file, False
        return file, stat.S_ISREG(found.st_mode) and found.st_size == 0
    if not hasattr(file, "read") or isinstance(file, io.TextIOBase):
        return file, False
    if _is_seekable(file):
        position = file.tell()
        end = file.seek(0, os.SEEK_END)
        file.seek(position)
        return file, end <= position
    head = file.read(SAMPLE)
    if head is None:  # a non-blocking stream with nothing yet: nothing read, nothing known
        return file, False
    if not isinstance(head, bytes | bytearray | memoryview):
        raise TypeError("the stream must be opened in binary mode (it returned text)")
    if not head:
        return file, True
    name = getattr(file, "name", None)
    rest = _HeadThenRest(bytes(head), file, name if isinstance(name, str) else None)
    return cast(IO[bytes], rest), False


def _seekable_source(stream: IO[bytes], name: str | None) -> UploadSource:
    fingerprint = SourceFingerprint().get_fingerprint(stream)
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return UploadSource(stream=stream, size=size, fingerprint=fingerprint, name=name)
