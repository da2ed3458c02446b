"""The Batch API V1 front door: which requests are V1 calls, and how one reaches the translator.

Both the ``requests`` interceptor (``compat.install``) and the gateway speak HTTP to legacy
callers; this module is the one place that turns a V1 method + path + headers + body into a
:class:`~compat.translate.Translator` call and its answer into status + JSON (the request and
answer types, shared by every generation, are in :mod:`compat.frontdoor.http`).

:func:`prepare` reads a request once: its operation and, for a create, its JSON body, parsed
here and nowhere else (the staging name of the call, ``media_source`` or ``create_session``,
comes from that one parse). :func:`dispatch` serves the prepared call.

``GET …/result`` honours ``Accept`` (:mod:`compat.negotiate`): JSON by default (no header, ``*/*``,
``application/json``), the captions for ``text/vtt``, ``text/srt`` or ``application/x-subrip``
(rendered by :mod:`compat.formats` once the session is done; 409 before), and 406 for anything else,
never a body the caller did not ask for. Word times are in the ``time_unit`` option (default seconds).
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from compat.errors import ScriptixError
from compat.formats import render
from compat.frontdoor.http import (
    V1Answer,
    V1Request,
    answer_for,
    content_length,
    empty_body,
    match_route,
    part_type,
    read_json_body,
    route_table,
    token_of,
)
from compat.negotiate import CONTENT_TYPES, negotiate
from compat.translate import Translator
from compat.v1.validation import parse_create_body, refuse, require_token

__all__ = ["NOT_ACCEPTABLE", "NOT_DONE", "SESSION", "Operation", "V1Call", "dispatch", "match", "prepare"]

Operation = Literal["create_session", "upload", "align", "get_result", "delete"]

SESSION = "/api/v3/speech-to-text/session"
NOT_ACCEPTABLE = "Not Acceptable: a result is served as application/json, text/vtt, text/srt or application/x-subrip"
NOT_DONE = "Conflict: the session is not done yet; its captions are served once its status is done"
_ROUTES: list[tuple[str, re.Pattern[str], Operation]] = route_table(
    SESSION,
    [
        ("POST", "/?", "create_session"),
        ("PUT", "/(?P<id>[^/]*)/?", "upload"),
        ("POST", "/(?P<id>[^/]*)/align/?", "align"),
        ("GET", "/(?P<id>[^/]*)/result/?", "get_result"),
        ("DELETE", "/(?P<id>[^/]*)/?", "delete"),
    ],
)


@dataclass(frozen=True)
class V1Call:
    """A V1 request read once by :func:`prepare`: its operation, session id and, for a create, its body.

    ``body`` is the parsed JSON of a create call (``None`` otherwise, or when it could not be
    used); ``refusal`` is why a create body could not be used (not JSON, too large, too deep), raised
    by :func:`dispatch` after the token check, as V1 answers 401 before looking at a body.
    """

    request: V1Request
    operation: Operation
    session_id: str | None
    body: Any = None
    refusal: ScriptixError | None = None

    @property
    def staging_name(self) -> str:
        """The name the staging toolkit gives the call: a create with ``media_source`` is its own operation."""
        if (
            self.operation == "create_session"
            and isinstance(self.body, Mapping)
            and self.body.get("media_source") is not None
        ):
            return "media_source"
        return self.operation


def match(method: str, path: str) -> tuple[Operation, str | None] | None:
    """The V1 operation a request is, with its session id, or ``None`` for anything else."""
    return match_route(_ROUTES, method, path)


def prepare(request: V1Request) -> V1Call:
    """Read a V1 request once: its operation and session id, and a create call's body, parsed.

    A create body that cannot be used is not an exception here: it is kept as the call's
    ``refusal`` for :func:`dispatch` to answer. Raises :class:`ValueError` for a request that is not
    a V1 call at all (see :func:`match`).
    """
    found = match(request.method, request.path)
    if found is None:
        raise ValueError(f"not a V1 call: {request.method} {request.path}")
    operation, session_id = found
    if operation != "create_session":
        return V1Call(request, operation, session_id)
    try:
        body = parse_create_body(read_json_body(request), request.header("content-type"))
    except ScriptixError as refusal:
        return V1Call(request, operation, session_id, refusal=refusal)
    return V1Call(request, operation, session_id, body=body)


def dispatch(translator: Translator, call: V1Call | V1Request) -> V1Answer:
    """Serve one V1 call (a :class:`V1Request` goes through :func:`prepare` first); a refusal or an
    upstream answer becomes a V1 status and error JSON.

    Raises only when there was no upstream answer at all (a :class:`compat.ScriptixError` with
    ``status_code`` ``None``): each front end reports that in its own way (502, ``ConnectionError``).
    """
    if isinstance(call, V1Request):
        call = prepare(call)
    request, operation, session_id = call.request, call.operation, call.session_id
    token = token_of(request)
    try:
        require_token(token)  # as V1: an unauthenticated call is a 401 whatever its body
        if operation == "create_session":
            if call.refusal is not None:
                raise call.refusal
            return V1Answer(200, translator.create_session(token, call.body))
        if operation == "upload":
            length = content_length(request)
            return V1Answer(
                200,
                translator.upload(
                    token,
                    session_id or "",
                    request.body if request.body is not None else empty_body(),
                    content_type=request.header("content-type"),
                    filename=request.header("x-filename"),
                    content_length=length,
                ),
            )
        if operation == "align":
            return V1Answer(200, _align(translator, token, session_id or "", request))
        if operation == "get_result":
            return _result(translator, token, session_id or "", request)
        return V1Answer(200, translator.delete(token, session_id or ""))
    except ScriptixError as exc:
        if exc.status_code is None:
            raise
        return answer_for(exc)


def _result(translator: Translator, token: str | None, session_id: str, request: V1Request) -> V1Answer:
    """The result as JSON, or its captions when ``Accept`` asks for WebVTT or SRT (406 when it asks for
    nothing served, checked after the token and before the session; 409 while not done)."""
    wanted = negotiate(request.header("accept"))
    if wanted is None:
        raise refuse(406, NOT_ACCEPTABLE)
    answer = translator.get_result(token, session_id)  # word times in the Batch V1 time_unit
    unit = translator.options.time_unit_for("batch_v1")
    if wanted.format == "json":
        return V1Answer(200, answer)
    result = answer.get("result") or {}
    if result.get("status") == "failed":
        raise refuse(409, f"Conflict: {result.get('error') or 'the media could not be transcribed'}")
    if result.get("status") != "done":
        raise refuse(409, NOT_DONE)
    return V1Answer.of_text(render(answer, wanted.format, time_unit=unit), CONTENT_TYPES[wanted.media_type])


def _align(translator: Translator, token: str | None, session_id: str, request: V1Request) -> dict[str, Any]:
    from werkzeug.formparser import parse_form_data  # a streaming multipart parser (big parts spool to disk)

    content_type = request.header("content-type") or ""
    if not content_type.lower().startswith("multipart/form-data"):
        raise refuse(415, "Content Invalid: /align takes multipart/form-data with media_file and transcript_file")
    length = content_length(request)
    environ = {
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": "" if length is None else str(length),
        "wsgi.input": request.body if request.body is not None else empty_body(),
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
            media_type=part_type(media.mimetype, media.filename),
            media_filename=media.filename or None,
            transcript_filename=(transcript.filename if transcript is not None else None) or None,
        )
    finally:
        media.close()
        if transcript is not None:
            transcript.close()
