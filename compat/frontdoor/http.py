"""Legacy HTTP, shared by every generation's front door: request and answer, headers, token, bodies.

A front door (:mod:`compat.frontdoor.batch_v1`) reads a :class:`V1Request` (method, path, headers,
body, already split from whatever carried it: WSGI for the gateway, a ``requests.PreparedRequest``
for ``compat.install()``) and answers a :class:`V1Answer` (status and JSON). Header values are read
as the caller meant them (:func:`header_text`): bytes that are valid UTF-8 are UTF-8, else ISO-8859-1.
"""

from __future__ import annotations

import io
import json
import math
import mimetypes
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, TypeVar

from compat.errors import ScriptixError
from compat.v1.validation import refuse

__all__ = [
    "MAX_JSON_BODY",
    "TOO_LARGE",
    "V1Answer",
    "V1Request",
    "answer_for",
    "content_length",
    "empty_body",
    "header_text",
    "match_route",
    "part_type",
    "read_json_body",
    "route_table",
    "token_of",
]

MAX_JSON_BODY = 1024 * 1024
# A create body over MAX_JSON_BODY: V1 lists no 413 for create (400/401/415/422/500), so it is a 422.
TOO_LARGE = "Body Invalid: the body is larger than 1 MiB"


def header_text(value: str | bytes) -> str:
    """A header value as the caller meant it: its bytes read as UTF-8 when they are valid UTF-8.

    HTTP carries header values as bytes. WSGI servers hand them over decoded as ISO-8859-1 (PEP
    3333) and ``requests`` sends a ``str`` value as its ISO-8859-1 bytes, so a ``str`` made only of
    ISO-8859-1 characters stands for those bytes; ``bytes`` are the bytes themselves. Bytes that are
    not valid UTF-8 stay ISO-8859-1 (``café`` sent as Latin-1 keeps its ``é``). A ``str`` with a
    character beyond ISO-8859-1 is text already and is returned as it is.
    """
    if isinstance(value, str):
        if value.isascii():
            return value
        try:
            raw = value.encode("latin-1")
        except UnicodeEncodeError:
            return value
    else:
        raw = bytes(value)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


@dataclass
class V1Request:
    """A legacy caller's request, already split from whatever carried it (WSGI, ``requests``).

    ``headers`` holds the values as the carrier had them (WSGI's ISO-8859-1 text, or the ``str`` or
    ``bytes`` a ``requests`` caller set); :meth:`header` reads one through :func:`header_text`.
    """

    method: str
    path: str
    headers: Mapping[str, str | bytes]
    body: IO[bytes] | None = None
    query: str = ""
    """The query string as sent (without ``?``): a Zoom Media read may name its ``format`` there."""

    def query_value(self, name: str) -> str | None:
        """The first value of query parameter ``name`` (percent-decoded), ``None`` when absent."""
        from urllib.parse import parse_qsl

        for key, value in parse_qsl(self.query, keep_blank_values=True):
            if key == name:
                return value
        return None

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return header_text(value)
        return None


@dataclass
class V1Answer:
    """What the legacy caller receives: a status and the legacy JSON, or a text (captions) with its type."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    text: str | None = None
    """A body that is not JSON (WebVTT or SRT captions), sent as UTF-8 in place of ``body``."""

    @classmethod
    def of_text(cls, text: str, content_type: str) -> V1Answer:
        """A 200 answer whose body is ``text`` (captions), with its ``Content-Type``."""
        return cls(200, {}, {"Content-Type": content_type}, text=text)

    def content(self) -> bytes:
        if self.text is not None:
            return self.text.encode("utf-8")
        return json.dumps(self.body).encode()


def answer_for(exc: ScriptixError) -> V1Answer:
    """The legacy answer to a refusal or an upstream error: its status and V1 error JSON.

    A 429 or 503 keeps the server's ``Retry-After`` (whole seconds, rounded up). An error without a
    status (no upstream answer came) is a 502; the surfaces report those their own way before this.
    """
    status = exc.status_code if exc.status_code is not None else 502
    body = exc.body if isinstance(exc.body, dict) and "error" in exc.body else {"error": exc.message}
    answer = V1Answer(status, body)
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None and status in (429, 503):
        answer.headers["Retry-After"] = str(math.ceil(retry_after))
    return answer


def token_of(request: V1Request) -> str | None:
    """The caller's token: ``x-zoom-s2t-key`` (or the old ``X-Zoom-S2T-Token``), else a Bearer token."""
    for name in ("x-zoom-s2t-key", "x-zoom-s2t-token"):
        value = request.header(name)
        if value:
            return value
    authorization = request.header("authorization") or ""
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credentials.strip() or None


_Name = TypeVar("_Name", bound=str)


def route_table(base: str, rows: Sequence[tuple[str, str, _Name]]) -> list[tuple[str, re.Pattern[str], _Name]]:
    """Routes below ``base`` for :func:`match_route`: each row's method, the regular expression of the
    rest of the path (the session id captured as ``id``) and its name; each pattern matches a whole path."""
    return [(method, re.compile(f"^{base}{rest}$"), name) for method, rest, name in rows]


def match_route(
    routes: Sequence[tuple[str, re.Pattern[str], _Name]], method: str, path: str
) -> tuple[_Name, str | None] | None:
    """The name of the first of ``routes`` (method, path pattern, name) that ``method`` and ``path``
    match, with the session id the pattern captured as ``id``; ``None`` when none does."""
    for route_method, pattern, name in routes:
        found = pattern.match(path)
        if found and method.upper() == route_method:
            return name, found.groupdict().get("id")
    return None


def content_length(request: V1Request) -> int | None:
    """The declared ``Content-Length``, ``None`` when absent; 400 when it is not a number."""
    raw = request.header("content-length")
    if raw is None or raw.strip() == "":
        return None
    if not raw.strip().isdigit():
        raise refuse(400, "Invalid data: Content-Length is not a number")
    return int(raw)


def read_json_body(request: V1Request) -> bytes:
    """The whole JSON body (a raw stream may answer a read with fewer bytes than asked), capped."""
    if request.body is None:
        return b""
    parts: list[bytes] = []
    size = 0
    while size <= MAX_JSON_BODY:
        block = request.body.read(MAX_JSON_BODY + 1 - size)
        if not block:
            break
        parts.append(block)
        size += len(block)
    if size > MAX_JSON_BODY:
        raise refuse(422, TOO_LARGE)
    return b"".join(parts)


def empty_body() -> IO[bytes]:
    """A body with no bytes, for a request that came without one."""
    return io.BytesIO(b"")


def part_type(declared: str | None, filename: str | None) -> str | None:
    """A multipart part's media type; an absent or generic one is guessed from its file name (as
    ``LegacyClient`` does)."""
    if declared and declared.lower() not in ("application/octet-stream", "binary/octet-stream"):
        return declared
    guessed, _ = mimetypes.guess_type(filename or "")
    return guessed or declared or None
