"""HTTP plumbing shared by the endpoints: JSON answers, errors, tokens, streamed bodies, cut connections."""

from __future__ import annotations

import contextlib
import json
import socket
from dataclasses import dataclass
from typing import IO, Any

from werkzeug.exceptions import ClientDisconnected
from werkzeug.wrappers import Request, Response

__all__ = [
    "BLOCK_SIZE",
    "ApiError",
    "BodyCopy",
    "ConnectionCut",
    "copy_body",
    "cut_connection",
    "error_response",
    "json_response",
    "token_of",
]

BLOCK_SIZE = 1024 * 1024  # request bodies are read in blocks of at most this, never whole


class ApiError(Exception):
    """Answer ``status`` with ``{"error": message}`` (and ``headers``).

    ``code`` names the error for APIs whose errors carry a name (the Zoom Media API's
    ``{"error": "invalid-language", "error_message": …}``); ``None``: the status's usual name.
    """

    def __init__(
        self, status: int, message: str, headers: dict[str, str] | None = None, *, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.code = code


class ConnectionCut(Exception):
    """Close the client's connection without an answer (a dropped PATCH, a stall)."""


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer."""
    return Response(json.dumps(body), status=status, headers=headers or {}, content_type="application/json")


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """``{"error": message}`` with ``status``."""
    return json_response({"error": message}, status, headers)


def token_of(request: Request, also: tuple[str, ...] = ()) -> str | None:
    """The caller's token from ``x-zoom-s2t-key``, the headers ``also`` names, or ``Authorization: Bearer``;
    ``None`` if absent."""
    for name in ("x-zoom-s2t-key", *also):
        key = request.headers.get(name, "").strip()
        if key:
            return key
    scheme, _, credentials = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


def cut_connection(request: Request) -> None:
    """Shut the client's socket (Werkzeug's dev server puts it in ``environ["werkzeug.socket"]``)."""
    sock = request.environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


@dataclass(frozen=True)
class BodyCopy:
    """How copying a body ended: bytes ``written``; ``overflow`` past the limit; ``disconnected``."""

    written: int
    overflow: bool = False
    disconnected: bool = False


def copy_body(source: IO[bytes], target: IO[bytes], *, limit: int, stop_after: int | None = None) -> BodyCopy:
    """Copy a request body to ``target`` through one reused buffer of :data:`BLOCK_SIZE` bytes.

    Writes at most ``limit`` bytes; one byte more in the body is reported as ``overflow``.
    With ``stop_after`` only that many bytes are read (the rest is left unread).
    A client that goes away midway leaves what arrived written (``disconnected``).
    """
    buffer = memoryview(bytearray(BLOCK_SIZE + 1))
    written = 0
    while True:
        wanted = min(BLOCK_SIZE, limit - written + 1)
        if stop_after is not None:
            wanted = min(wanted, stop_after - written)
            if wanted <= 0:
                return BodyCopy(written)
        filled, ended, broken = 0, False, False
        while filled < wanted:  # fill the buffer from reads that may each return part of it
            try:
                count = source.readinto(buffer[filled:wanted])  # type: ignore[attr-defined]
            except (ClientDisconnected, OSError):
                broken = True
                break
            if not count:
                ended = True
                break
            filled += count
        if written + filled > limit:
            target.write(buffer[: limit - written])
            return BodyCopy(limit, overflow=True)
        target.write(buffer[:filled])
        written += filled
        if broken or ended:
            return BodyCopy(written, disconnected=broken)
