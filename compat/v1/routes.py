"""V1 over HTTP: which requests are V1 calls, and how a raw request reaches the translator.

Both the ``requests`` interceptor (``compat.install``) and the gateway speak HTTP to legacy
callers; this module is the one place that turns method + path + headers + body into a
:class:`~compat.translate.Translator` call and its answer into status + JSON.
"""

from __future__ import annotations

import io
import json
import math
import mimetypes
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any, Literal

from compat.errors import ScriptixError
from compat.translate import Translator
from compat.v1.validation import parse_create_body, refuse, require_token

__all__ = ["MAX_JSON_BODY", "Operation", "V1Answer", "V1Request", "dispatch", "match", "token_of"]

Operation = Literal["create_session", "upload", "align", "get_result", "delete"]

SESSION = "/api/v3/speech-to-text/session"
MAX_JSON_BODY = 1024 * 1024
_ROUTES: list[tuple[str, re.Pattern[str], Operation]] = [
    ("POST", re.compile(rf"^{SESSION}/?$"), "create_session"),
    ("PUT", re.compile(rf"^{SESSION}/(?P<id>[^/]*)/?$"), "upload"),
    ("POST", re.compile(rf"^{SESSION}/(?P<id>[^/]*)/align/?$"), "align"),
    ("GET", re.compile(rf"^{SESSION}/(?P<id>[^/]*)/result/?$"), "get_result"),
    ("DELETE", re.compile(rf"^{SESSION}/(?P<id>[^/]*)/?$"), "delete"),
]


@dataclass
class V1Request:
    """A legacy caller's request, already split from whatever carried it (WSGI, ``requests``)."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: IO[bytes] | None = None

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None


@dataclass
class V1Answer:
    """What the legacy caller receives: a status and the V1 JSON."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})

    def content(self) -> bytes:
        return json.dumps(self.body).encode()


def match(method: str, path: str) -> tuple[Operation, str | None] | None:
    """The V1 operation a request is, with its session id, or ``None`` for anything else."""
    for route_method, pattern, operation in _ROUTES:
        found = pattern.match(path)
        if found and method.upper() == route_method:
            return operation, found.groupdict().get("id")
    return None


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


def _content_length(request: V1Request) -> int | None:
    raw = request.header("content-length")
    if raw is None or raw.strip() == "":
        return None
    if not raw.strip().isdigit():
        raise refuse(400, "Invalid data: Content-Length is not a number")
    return int(raw)


def _read_json_body(request: V1Request) -> bytes:
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
        raise refuse(422, f"Body Invalid: the JSON body is larger than {MAX_JSON_BODY} bytes")
    return b"".join(parts)


def dispatch(translator: Translator, request: V1Request) -> V1Answer:
    """Serve one V1 request; a refusal or an upstream answer becomes a V1 status and error JSON.

    Raises only when there was no upstream answer at all (a :class:`compat.ScriptixError` with
    ``status_code`` ``None``): each front end reports that in its own way (502, ``ConnectionError``).
    """
    found = match(request.method, request.path)
    if found is None:
        raise ValueError(f"not a V1 call: {request.method} {request.path}")
    operation, session_id = found
    token = token_of(request)
    try:
        require_token(token)  # as V1: an unauthenticated call is a 401 whatever its body
        if operation == "create_session":
            body = parse_create_body(_read_json_body(request), request.header("content-type"))
            return V1Answer(200, translator.create_session(token, body))
        if operation == "upload":
            length = _content_length(request)
            return V1Answer(
                200,
                translator.upload(
                    token,
                    session_id or "",
                    request.body if request.body is not None else _empty(),
                    content_type=request.header("content-type"),
                    filename=request.header("x-filename"),
                    content_length=length,
                ),
            )
        if operation == "align":
            return V1Answer(200, _align(translator, token, session_id or "", request))
        if operation == "get_result":
            return V1Answer(200, translator.get_result(token, session_id or ""))
        return V1Answer(200, translator.delete(token, session_id or ""))
    except ScriptixError as exc:
        if exc.status_code is None:
            raise
        body = exc.body if isinstance(exc.body, dict) and "error" in exc.body else {"error": exc.message}
        answer = V1Answer(exc.status_code, body)
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None and exc.status_code in (429, 503):
            answer.headers["Retry-After"] = str(math.ceil(retry_after))
        return answer


def _align(translator: Translator, token: str | None, session_id: str, request: V1Request) -> dict[str, Any]:
    from werkzeug.formparser import parse_form_data  # a streaming multipart parser (big parts spool to disk)

    content_type = request.header("content-type") or ""
    if not content_type.lower().startswith("multipart/form-data"):
        raise refuse(415, "Content Invalid: /align takes multipart/form-data with media_file and transcript_file")
    length = _content_length(request)
    environ = {
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": "" if length is None else str(length),
        "wsgi.input": request.body if request.body is not None else _empty(),
        # Without a length (a chunked body) the parser must read to the end of the stream.
        "wsgi.input_terminated": length is None,
    }
    from werkzeug.exceptions import HTTPException

    try:
        _, form, files = parse_form_data(environ, silent=False)
    except (ValueError, HTTPException):
        raise refuse(422, "Body Invalid: the multipart body cannot be parsed") from None
    media = files.get("media_file")
    transcript = files.get("transcript_file")
    text_field = form.get("transcript_file")
    if media is None or (transcript is None and text_field is None):
        raise refuse(422, "Body Invalid: /align needs the parts media_file and transcript_file")
    transcript_stream = transcript.stream if transcript is not None else io.BytesIO(str(text_field).encode())
    try:
        return translator.align(
            token,
            session_id,
            media.stream,
            transcript_stream,
            media_type=_part_type(media.mimetype, media.filename),
            media_filename=media.filename or None,
            transcript_filename=(transcript.filename if transcript is not None else None) or None,
        )
    finally:
        media.close()
        if transcript is not None:
            transcript.close()


def _part_type(declared: str | None, filename: str | None) -> str | None:
    """A part's media type; an absent or generic one is guessed from its file name (as LegacyClient does)."""
    if declared and declared.lower() not in ("application/octet-stream", "binary/octet-stream"):
        return declared
    guessed, _ = mimetypes.guess_type(filename or "")
    return guessed or declared or None


def _empty() -> IO[bytes]:
    return io.BytesIO(b"")
