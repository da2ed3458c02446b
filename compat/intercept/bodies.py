"""A prepared request's body as a binary stream, read block by block and never held whole."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import IO, Any, cast

__all__ = ["stream_of"]

_ITER_BUFFER = 64 * 1024  # read-ahead of a generator body; its blocks are copied, never joined


class _IterStream(io.RawIOBase):
    """A generator or iterator of ``bytes`` (or ``str``, sent as UTF-8 like urllib3 does) as a binary stream."""

    def __init__(self, chunks: Iterable[Any]) -> None:
        super().__init__()
        self._chunks: Iterator[Any] = iter(chunks)
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            if isinstance(chunk, str):
                chunk = chunk.encode("utf-8")
            if not isinstance(chunk, bytes | bytearray | memoryview):
                raise TypeError(f"a request body iterator must yield bytes, not {type(chunk).__name__}")
            self._pending = memoryview(chunk).cast("B")
        size = min(len(view), len(self._pending))
        view[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def stream_of(body: Any) -> IO[bytes] | None:
    """The prepared request body as a binary stream, without reading it whole."""
    if body is None:
        return None
    if isinstance(body, bytes | bytearray | memoryview):
        return io.BytesIO(body)
    if isinstance(body, str):  # urllib3 sends a str body as UTF-8
        return io.BytesIO(body.encode("utf-8"))
    if isinstance(body, io.TextIOBase):
        text = cast(IO[str], body)
        return _buffered(iter(lambda: text.read(_ITER_BUFFER), ""))
    if hasattr(body, "read"):
        return cast(IO[bytes], body)
    if isinstance(body, Iterable):
        return _buffered(body)
    raise TypeError(f"cannot send a request body of type {type(body).__name__}")


def _buffered(chunks: Iterable[Any]) -> IO[bytes]:
    # BufferedReader.read(n) gathers n bytes across chunks (a raw read may return one chunk only).
    return cast(IO[bytes], io.BufferedReader(_IterStream(chunks), buffer_size=_ITER_BUFFER))
