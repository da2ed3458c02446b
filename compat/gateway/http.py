"""Small WSGI helpers shared by the gateway's application and proxy."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import IO, Any
from urllib.parse import quote, urlsplit

from compat.v3.source import BoundedBody

__all__ = [
    "READAHEAD",
    "BodyTimeout",
    "BodyTooLarge",
    "ClientGone",
    "LimitedInput",
    "Reply",
    "RequestBodyError",
    "body_error",
    "error_reply",
    "header_name",
    "json_reply",
    "read_ahead",
    "request_target",
    "wsgi_headers",
]

READAHEAD = 4 * 1024 * 1024
"""How much of a body without ``Content-Length`` (chunked) is read before anything goes upstream."""


class RequestBodyError(OSError):
    """Reading the request body (``wsgi.input``) failed on the client's side; ``status`` is the answer.

    The streaming server raises these from ``wsgi.input.read``: the application answers ``status``
    with ``{"error": message}`` (the connection is closed after it), never a 500.
    """

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BodyTimeout(RequestBodyError):
    """The client sent no body bytes for too long, or sent them slower than the minimum rate."""

    status = 408


class ClientGone(RequestBodyError):
    """The client closed the connection before the end of its body."""

    status = 400


class BodyTooLarge(RequestBodyError):
    """A body without ``Content-Length`` (chunked) grew past the server's body size limit."""

    status = 413


def body_error(exc: BaseException) -> RequestBodyError | None:
    """The :class:`RequestBodyError` behind ``exc`` (itself, or a cause or context of it), if any.

    A reader of the body (the upload, the proxy, a multipart parser) may wrap the error in its own.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, RequestBodyError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


class LimitedInput(BoundedBody):
    """A stream (``wsgi.input``) read as exactly ``length`` bytes, in blocks, never past them."""

    def __init__(self, stream: IO[bytes], length: int) -> None:
        super().__init__(length)
        self._stream = stream

    def _take(self, count: int) -> bytes:
        return self._stream.read(count)


class _HeadThenRest(io.RawIOBase):
    """The bytes already read from a stream, then the rest of it."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        super().__init__()
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if self._head:
            wanted = len(self._head) if size is None or size < 0 else min(size, len(self._head))
            block, self._head = bytes(self._head[:wanted]), self._head[wanted:]
            return block
        return self._rest.read(-1 if size is None else size)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def read_ahead(stream: IO[bytes], limit: int = READAHEAD, block: int = 256 * 1024) -> tuple[bytes, IO[bytes] | None]:
    """Up to ``limit`` bytes of ``stream``: ``(body, None)`` when it ends within them, else ``(head,
    stream of head and rest)``. A body without a length whose end is near is then sent with its length,
    and one over a size limit within ``limit`` is refused before anything goes upstream."""
    parts: list[bytes] = []
    size = 0
    while size <= limit:
        data = stream.read(min(block, limit + 1 - size))
        if not data:
            return b"".join(parts), None
        parts.append(data)
        size += len(data)
    head = b"".join(parts)
    return head, _HeadThenRest(head, stream)  # type: ignore[return-value]


@dataclass
class Reply:
    """One answer before it is handed to the WSGI server: status, headers, body blocks."""

    status: int
    headers: list[tuple[str, str]]
    body: Iterable[bytes]
    reason: str = ""
    close: Callable[[], None] | None = field(default=None, repr=False)

    def status_line(self) -> str:
        reason = self.reason
        if not reason:
            try:
                reason = HTTPStatus(self.status).phrase
            except ValueError:
                reason = "Unknown"
        return f"{self.status} {reason}"


def json_reply(status: int, body: Any, headers: Iterable[tuple[str, str]] = ()) -> Reply:
    """A JSON answer with its ``Content-Length``."""
    content = json.dumps(body).encode()
    return Reply(
        status=status,
        headers=[("Content-Type", "application/json"), ("Content-Length", str(len(content))), *headers],
        body=[content],
    )


def error_reply(status: int, message: str) -> Reply:
    """``{"error": message}`` with ``status``."""
    return json_reply(status, {"error": message})


def wsgi_headers(environ: dict[str, Any]) -> dict[str, str]:
    """The request headers from a WSGI environ, by lower-case name (``x-zoom-s2t-key``, ``content-type``)."""
    headers: dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = key[5:]
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            name = key
        else:
            continue
        if isinstance(value, str) and (value or key not in ("CONTENT_TYPE", "CONTENT_LENGTH")):
            headers[name.replace("_", "-").lower()] = value
    return headers


def header_name(name: str) -> str:
    """``x-zoom-s2t-key`` -> ``X-Zoom-S2t-Key`` (names are case-insensitive; this is the usual spelling)."""
    return "-".join(part[:1].upper() + part[1:] for part in name.split("-"))


def request_target(environ: dict[str, Any]) -> tuple[str, str]:
    """The raw path (still percent-encoded, as the caller sent it) and the raw target (path and query).

    The raw form matters twice: a V1 session id such as ``..%2F..%2Fetc`` must reach validation as
    it was sent (``PATH_INFO`` is already decoded), and a proxied request must reach the upstream
    unchanged. A request in absolute form (``GET http://elsewhere/x``) keeps only its path and query:
    the gateway only ever talks to its own upstream.
    """
    raw = environ.get("REQUEST_URI") or environ.get("RAW_URI")
    if isinstance(raw, str) and raw:
        if raw.startswith("/"):
            return raw.partition("?")[0], raw
        parts = urlsplit(raw)
        path = parts.path or "/"
        return path, path + (f"?{parts.query}" if parts.query else "")
    path = quote(
        str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", "")),
        safe="/:@!$&'()*+,;=-._~",
        encoding="latin-1",
    )
    query = str(environ.get("QUERY_STRING", ""))
    return (path or "/"), (path or "/") + (f"?{query}" if query else "")
