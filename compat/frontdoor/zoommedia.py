"""The Zoom Media API v1/v2 front door: which requests are its calls, and how one reaches the translator.

Before the Scriptix name the service spoke the Zoom Media API (``api.zoommedia.ai``, paths
``/api/v1/…`` and ``/api/v2/…``); most public client code (the vendor's ``pyzoomapi``, a Node sample,
C# Azure Functions, Logic App templates) still does. This module serves it on the same
:class:`~compat.translate.Translator` as the Batch V1 calls, and answers exactly what the emulator's
legacy mode answers (``compat/emulator/zoommedia_api.py``; ``tests/golden/zoommedia/`` holds every shape):

==========================================  ==============================================================
``POST /api/v{1,2}/speech-to-text/session``  JSON ``language``, ``punctuation``, ``callback_url``,
(``/`` optional)                             ``callback_method``, ``callback_headers`` (V3 webhooks:
                                             ``webhook_*``), ``callback_format`` (kept in ``meta_data``);
                                             answers ``{"language", "sessionId", "zoom_id"}``.
``POST …/session/{id}``                      ``multipart/form-data`` whose file part ``upload`` streams
                                             into a TUS upload as it arrives, or JSON ``{"video_url"}``
                                             (fetched through the ``media_source`` SSRF guard); answers
                                             the same flat object.
``GET …/session/{id}`` (``/`` optional)      ``{"language", "sessionId", "zoom_id", "done", "results"}``
                                             (word times in the ``time_unit``, default milliseconds), or
                                             the captions for ``Accept: text/vtt`` / ``text/srt`` /
                                             ``application/x-subrip`` (or a ``format`` query parameter).
==========================================  ==============================================================

Tokens: ``X-Zoom-S2T-Key`` or ``X-Zoom-S2T-Token`` (or ``Authorization: Bearer``). Errors are
``{"error": <name>, "error_message": <text>}``: the translator's V1 refusals and upstream errors are
mapped by status (:data:`compat.wire.ZOOM_ERROR_NAMES`), ``invalid-language`` and ``already-uploaded`` by their text;
every 401 has the one :data:`compat.wire.ZOOM_UNAUTHORIZED` text. The decisions (406 before the session; 409
``not-done`` for captions of a session not done; ``done: true`` with ``error`` for a failed one) are
MIGRATION.md's, "The Zoom Media API v1/v2 generation".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any, Literal, cast

from compat import wire
from compat.errors import ScriptixError
from compat.formats import TimeUnit, render
from compat.frontdoor.http import (
    MAX_JSON_BODY,
    TOO_LARGE,
    V1Answer,
    V1Request,
    answer_for,
    match_route,
    part_type,
    read_json_body,
    route_table,
    token_of,
)
from compat.frontdoor.multipart import FilePart
from compat.media import MediaError, media_filename
from compat.negotiate import CONTENT_TYPES, Negotiated, negotiate
from compat.translate import Translator, media_refusal
from compat.urls import is_http_url
from compat.v1.validation import parse_create_body, refuse, require_token

__all__ = [
    "Operation",
    "ZoomCall",
    "dispatch",
    "error_answer",
    "match",
    "prepare",
]

Operation = Literal["zm_create_session", "zm_upload", "zm_video_url", "zm_get_result", "zm_captions"]
Route = Literal["create", "upload", "read"]

SESSION = r"/api/v[12]/speech-to-text/session"
UPLOAD_TYPES = "Content Invalid: upload multipart/form-data with a file part named upload, or JSON with video_url"
EMPTY_BODY = "Invalid data: the upload body is empty"

_ROUTES: list[tuple[str, re.Pattern[str], Route]] = route_table(
    SESSION,
    [("POST", "/?", "create"), ("POST", "/(?P<id>[^/]+)/?", "upload"), ("GET", "/(?P<id>[^/]+)/?", "read")],
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_MAX_LANGUAGE = 64
_MAX_FILENAME = 255
_CALLBACK = ("callback_url", "callback_method", "callback_headers")


@dataclass(frozen=True)
class ZoomCall:
    """A Zoom Media request read once by :func:`prepare`.

    ``body`` is the parsed JSON of a create or a JSON (``video_url``) upload; ``refusal`` is why it
    could not be used, raised by :func:`dispatch` after the token check. ``wanted`` is what a read
    asks for (``None``: nothing this API serves, a 406).
    """

    request: V1Request
    route: Route
    session_id: str | None
    body: Any = None
    refusal: ScriptixError | None = None
    wanted: Negotiated | None = None

    @property
    def staging_name(self) -> Operation:
        """The staging toolkit's name of the call (:mod:`compat.staging.operations`)."""
        if self.route == "create":
            return "zm_create_session"
        if self.route == "upload":
            return "zm_video_url" if _media_type(self.request) == "application/json" else "zm_upload"
        return "zm_captions" if self.wanted is not None and self.wanted.format != "json" else "zm_get_result"


def match(method: str, path: str) -> tuple[Route, str | None] | None:
    """The Zoom Media call a request is (``create``, ``upload``, ``read``) with its session id, else ``None``."""
    return match_route(_ROUTES, method, path)


def prepare(request: V1Request) -> ZoomCall:
    """Read a Zoom Media request once: its route and session id, a JSON body parsed, a read's ``Accept``.

    A body that cannot be used is kept as the call's ``refusal``. Raises :class:`ValueError` for a
    request that is not a Zoom Media call (see :func:`match`).
    """
    found = match(request.method, request.path)
    if found is None:
        raise ValueError(f"not a Zoom Media call: {request.method} {request.path}")
    route, session_id = found
    if route == "read":
        return ZoomCall(
            request, route, session_id, wanted=negotiate(request.header("accept"), request.query_value("format"))
        )
    if route == "upload" and _media_type(request) != "application/json":
        return ZoomCall(request, route, session_id)  # the multipart body streams; it is read by dispatch
    try:
        body = _json_body(request)
    except ScriptixError as refusal:
        return ZoomCall(request, route, session_id, refusal=refusal)
    return ZoomCall(request, route, session_id, body=body)


def dispatch(translator: Translator, call: ZoomCall | V1Request) -> V1Answer:
    """Serve one Zoom Media call; a refusal or an upstream answer becomes its status and Zoom error JSON.

    Raises only when there was no upstream answer at all (a :class:`compat.ScriptixError` with
    ``status_code`` ``None``), as :func:`compat.frontdoor.batch_v1.dispatch` does.
    """
    if isinstance(call, V1Request):
        call = prepare(call)
    request = call.request
    token = token_of(request)
    try:
        token = require_token(token)  # an unauthenticated call is a 401 whatever its body
        if call.route == "create":
            return _create(translator, token, call)
        if call.route == "upload":
            return _upload(translator, token, call)
        return _read(translator, token, call)
    except ScriptixError as exc:
        if exc.status_code is None:
            raise
        return error_answer(exc, create=call.route == "create")


def error_answer(exc: ScriptixError, *, create: bool = False) -> V1Answer:
    """A V1 refusal or an upstream error as the Zoom Media API answered errors: ``{"error", "error_message"}``.

    ``create``: the refusal is about a create body, whose callback fields the translator knows by
    their V1 names (``webhook_*``): they are named as the caller sent them.
    """
    answer = answer_for(exc)
    message = str(answer.body.get("error") or exc.message)
    if answer.status == 401:
        message = wire.ZOOM_UNAUTHORIZED
    elif create:
        message = message.replace("'webhook_", "'callback_").replace("require webhook_url", "require callback_url")
    code = wire.ZOOM_ERROR_NAMES.get(answer.status, "error")
    if answer.status == 400 and message.startswith("Invalid language"):
        code = "invalid-language"
    elif answer.status == 400 and message == wire.ALREADY_UPLOADED:
        code = "already-uploaded"
    answer.body = wire.zoom_error_body(answer.status, message, code)
    return answer


def _media_type(request: V1Request) -> str:
    return (request.header("content-type") or "").split(";", 1)[0].strip().lower()


def _json_body(request: V1Request) -> Any:
    """The JSON body as the Zoom Media routes read it: 415 not JSON, 413 over 1 MiB (declared), 422 too deep."""
    raw_length = (request.header("content-length") or "").strip()
    if _media_type(request) == "application/json" and raw_length.isdigit() and int(raw_length) > MAX_JSON_BODY:
        raise refuse(413, TOO_LARGE)
    return parse_create_body(read_json_body(request), request.header("content-type"))


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, Mapping):
        raise refuse(422, "Body Invalid: the body must be a JSON object")
    return dict(body)


# create -----------------------------------------------------------------------------------------


def _create(translator: Translator, token: str, call: ZoomCall) -> V1Answer:
    if call.refusal is not None:
        raise call.refusal
    body = _object(call.body)
    language = body.get("language")
    if not isinstance(language, str) or not language.strip() or len(language) > _MAX_LANGUAGE:
        raise refuse(400, "Invalid language: 'language' must be a non-empty string such as \"en-us\"")
    if _CONTROL.search(language):
        raise refuse(400, "Invalid language: 'language' must be a non-empty string such as \"en-us\"")
    if "punctuation" in body and not isinstance(body["punctuation"], bool):
        raise refuse(422, "Body Invalid: 'punctuation' must be true or false")
    _check_callback(body)
    created = translator.create_session(token, _v1_create_body(body, language.strip()))
    session_id = str(created["result"]["session_id"])
    return V1Answer(200, _session_answer(language.strip(), session_id))


def _check_callback(body: dict[str, Any]) -> None:
    """The callback fields in the emulator's order and words; the translator checks them again as ``webhook_*``."""
    url, method, headers = (body.get(name) for name in _CALLBACK)
    if url is not None and not is_http_url(url):
        raise refuse(422, "Body Invalid: 'callback_url' must be an http(s) URL")
    if method is not None and (not isinstance(method, str) or method.upper() not in ("POST", "PUT")):
        raise refuse(422, "Body Invalid: 'callback_method' must be POST or PUT")
    if headers is not None:
        if not isinstance(headers, list):
            raise refuse(422, "Body Invalid: 'callback_headers' must be a list of \"Name: value\" strings")
        for line in headers:
            if not isinstance(line, str) or _CONTROL.search(line.replace("\t", " ")):
                raise refuse(422, "Body Invalid: 'callback_headers' entries must be single-line strings")
            name, sep, value = line.partition(":")
            if not sep or name != name.strip() or not _HEADER_NAME.fullmatch(name) or not value.strip():
                raise refuse(422, "Body Invalid: 'callback_headers' entries must look like \"Name: value\"")
    if url is None and (method is not None or headers is not None):
        raise refuse(422, "Body Invalid: 'callback_method' and 'callback_headers' require callback_url")
    fmt = body.get("callback_format")
    if fmt is not None and fmt not in wire.CALLBACK_FORMATS:
        raise refuse(422, "Body Invalid: 'callback_format' must be application/json or text/vtt")
    if fmt is not None and url is None:
        raise refuse(422, "Body Invalid: 'callback_format' requires callback_url")


def _v1_create_body(body: dict[str, Any], language: str) -> dict[str, Any]:
    """The Zoom Media create body as the translator's V1 create: ``callback_*`` as ``webhook_*``,
    ``callback_format`` kept in ``meta_data`` (V3 has no field for it; the callback body does not
    depend on it since May 2020), anything else passed on as a V1 create passes it."""
    fields = {k: v for k, v in body.items() if k not in (*_CALLBACK, "callback_format")}
    fields["language"] = language
    for name in _CALLBACK:
        if body.get(name) is not None:
            fields["webhook_" + name.removeprefix("callback_")] = body[name]
    fmt = body.get("callback_format")
    meta = fields.get("meta_data")
    if fmt is not None and meta is None:
        fields["meta_data"] = {"callback_format": fmt}
    elif fmt is not None and isinstance(meta, Mapping) and "callback_format" not in meta:
        fields["meta_data"] = {**meta, "callback_format": fmt}
    return fields


def _session_answer(language: str | None, session_id: str) -> dict[str, Any]:
    return {"language": language, "sessionId": session_id, "zoom_id": session_id}


def _language(translator: Translator, token: str, session_id: str) -> str | None:
    """The session's language: as created through the shim (the store), else as upstream shows it."""
    record = translator.sessions.open(token, session_id)
    if record is not None and isinstance(record.options.get("language"), str):
        return str(record.options["language"])
    try:
        return translator.v3.with_token(token).get_session(session_id).language
    except (ScriptixError, ValueError):
        return None


# upload -----------------------------------------------------------------------------------------


def _upload(translator: Translator, token: str, call: ZoomCall) -> V1Answer:
    """Checked in the emulator's order: the content type (415), a JSON body and its ``video_url``
    (415/422, the SSRF guard), the session (404, 400 already uploaded), then the multipart body (422/400)."""
    request = call.request
    media_type = _media_type(request)
    session_id = call.session_id or ""
    if media_type == "multipart/form-data":
        boundary = _boundary(request.header("content-type") or "")
        if not boundary:
            raise refuse(422, "Body Invalid: the multipart Content-Type has no boundary")
        translator.check_upload(token, session_id)
        _upload_part(translator, token, session_id, request, boundary)
    elif media_type == "application/json":
        if call.refusal is not None:
            raise call.refusal
        url = _video_url(translator, _object(call.body))
        translator.check_upload(token, session_id)
        _upload_url(translator, token, session_id, url)
    else:
        raise refuse(415, UPLOAD_TYPES)
    return V1Answer(200, _session_answer(_language(translator, token, session_id), session_id))


def _boundary(content_type: str) -> bytes:
    from email.message import Message

    message = Message()
    message["content-type"] = content_type
    value = message.get_param("boundary")
    return value.encode("latin-1", "replace") if isinstance(value, str) else b""


def _upload_part(translator: Translator, token: str, session_id: str, request: V1Request, boundary: bytes) -> None:
    if request.body is None:
        raise refuse(400, "Invalid data: the upload body is incomplete")
    part = FilePart(request.body, boundary, wire.ZOOM_UPLOAD_PART)
    part.open()  # up to the part's first bytes: its name and type are known, the body is not read further
    try:
        translator.upload(
            token,
            session_id,
            cast(IO[bytes], part),
            content_type=part_type(part.content_type, part.filename),
            filename=part.filename,
            any_media_type=True,
        )
    except ScriptixError as exc:
        if part.refusal is not None and part.refusal is not exc:  # the upload read a body that went wrong
            raise part.refusal from exc
        raise


def _video_url(translator: Translator, body: dict[str, Any]) -> str:
    if "video_url" not in body:
        raise refuse(422, "Body Invalid: a JSON upload needs 'video_url'")
    url = body["video_url"]
    try:
        translator.fetcher.check(url, where="video_url")  # the media_source SSRF guard
    except MediaError as exc:
        raise _video_url_refusal(exc) from exc
    return str(url)


def _video_url_refusal(exc: MediaError) -> ScriptixError:
    """A ``media_source`` problem as the refusal of a ``video_url`` (named as the caller named it)."""
    refusal = media_refusal(exc)
    return refuse(refusal.status_code or 400, refusal.message.replace("media_source", "video_url"))


def _upload_url(translator: Translator, token: str, session_id: str, url: str) -> None:
    """Fetch ``video_url`` (synchronously, as the emulator does) and upload it as the session's media."""
    try:
        download = translator.fetcher.open(url)
    except MediaError as exc:
        raise _video_url_refusal(exc) from exc
    try:
        translator.upload(
            token,
            session_id,
            download.stream,
            content_type=download.filetype,
            filename=media_filename(url)[-_MAX_FILENAME:],
            any_media_type=True,
        )
    except ScriptixError as exc:
        if exc.status_code == 400 and exc.message == EMPTY_BODY:
            raise refuse(400, "Invalid data: video_url is empty") from exc
        if isinstance(exc.__cause__, MediaError):  # the download failed while it was being uploaded
            raise _video_url_refusal(exc.__cause__) from exc
        raise
    finally:
        download.close()


# status, result and captions --------------------------------------------------------------------


def _read(translator: Translator, token: str, call: ZoomCall) -> V1Answer:
    """406 first (nothing to serve), then the session (404), then its state (409 for captions not ready)."""
    wanted = call.wanted
    if wanted is None:
        raise refuse(406, wire.ZOOM_NOT_ACCEPTABLE)
    session_id = call.session_id or ""
    unit: TimeUnit = translator.options.time_unit_for("zoommedia")
    result = translator.get_result(token, session_id, time_unit=unit).get("result") or {}
    status = result.get("status")
    if wanted.format == "json":
        body = _session_answer(_language(translator, token, session_id), session_id)
        body.update(_state(result))
        return V1Answer(200, body)
    if status == "failed":
        reason = result.get("error") or "the media could not be transcribed"
        return _refused(409, "transcription-failed", f"Conflict: {reason}")
    if status != "done":
        return _refused(409, "not-done", wire.ZOOM_NOT_DONE)
    text = render({"results": result.get("results") or []}, wanted.format, time_unit=unit)
    return V1Answer.of_text(text, CONTENT_TYPES[wanted.media_type])


def _state(result: Mapping[str, Any]) -> dict[str, Any]:
    """``done`` and ``results`` (and ``error``/``error_message`` once failed) of a V1 result object."""
    status = result.get("status")
    if status == "done":
        segments = [
            {"speaker": s.get("speaker"), "text": s.get("text"), "result": s.get("result")}
            for s in result.get("results") or []
            if isinstance(s, Mapping)
        ]
        return {"done": True, "results": segments}
    if status == "failed":
        return {
            "done": True,
            "results": [],
            "error": "transcription-failed",
            "error_message": result.get("error") or "failed",
        }
    return {"done": False, "results": []}


def _refused(status: int, code: str, message: str) -> V1Answer:
    return V1Answer(status, wire.zoom_error_body(status, message, code))
