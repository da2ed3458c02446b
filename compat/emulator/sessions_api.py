"""``/api/v3/speech-to-text/session``: create, list, read, result and delete sessions."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from compat import safejson
from compat.emulator.httputil import ApiError, json_response
from compat.emulator.media_api import media_url
from compat.emulator.session_views import NOT_FOUND, owned_session, v1_envelope
from compat.emulator.state import SessionRecord, iso_time
from compat.emulator.v1_api import create_from_media_source
from compat.emulator.webhooks import WebhookTarget
from compat.formats import TimeUnit, convert_segments
from compat.wire import webhook_names

if TYPE_CHECKING:
    from compat.emulator.app import EmulatorApp

__all__ = [
    "check_language",
    "create_session",
    "delete_session",
    "get_result",
    "get_session",
    "list_sessions",
    "read_json",
    "result_body",
    "webhook_from",
]

MAX_JSON_BYTES = 1024 * 1024
TOO_LARGE = "Body Invalid: the body is larger than 1 MiB"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BOOLEANS = ("keep_source", "punctuation", "multichannel", "diarization")


def webhook_from(fields: dict[str, Any], *, public_only: bool = False) -> WebhookTarget | None:
    """The webhook of a create body: top-level ``webhook_*``, else ``document.webhook_*`` (422 if bad).

    Both are checked; ``public_only`` refuses a URL V1 would not call (HTTPS to a public host only).
    """
    try:
        target = WebhookTarget.from_fields(fields, public_only=public_only)
        document = fields.get("document")
        if isinstance(document, dict):
            in_document = WebhookTarget.from_fields(document, where="document.", public_only=public_only)
            target = target or in_document
    except ValueError as exc:
        raise ApiError(422, f"Body Invalid: {exc}") from None
    return target


def read_json(request: Request, *, too_large: int = 413) -> dict[str, Any]:
    """A JSON object body: 415 when not ``application/json`` or not JSON, ``too_large`` over 1 MiB
    (declared or sent chunked), 422 when not an object.

    V1's create lists no 413 (only 400/401/415/422/500), so its route passes ``too_large=422``, the
    shim's answer; the Zoom Media routes keep 413 ``too-large``, as the shim's do for a declared length.
    """
    if request.mimetype != "application/json":
        raise ApiError(415, "Content Invalid: the body must be JSON with Content-Type: application/json")
    if (request.content_length or 0) > MAX_JSON_BYTES:
        raise ApiError(too_large, TOO_LARGE)
    raw = request.stream.read(MAX_JSON_BYTES + 1)
    if len(raw) > MAX_JSON_BYTES:
        raise ApiError(too_large, TOO_LARGE)
    try:
        body = safejson.loads(raw)
    except safejson.JSONDepthError as exc:
        raise ApiError(422, f"Body Invalid: the body is {exc}") from None
    except ValueError:  # UnicodeDecodeError included
        raise ApiError(415, "Content Invalid: the body is not JSON") from None
    if not isinstance(body, dict):
        raise ApiError(422, "Body Invalid: the body must be a JSON object")
    return body


def _check_fields(body: dict[str, Any]) -> str:
    language = body.get("language")
    if not isinstance(language, str) or not language.strip() or len(language) > 64:
        raise ApiError(400, "Invalid language: 'language' must be a non-empty string such as \"en\"")
    if _CONTROL.search(language):
        raise ApiError(400, "Invalid language: 'language' contains control characters")
    for name in _BOOLEANS:
        if name in body and not isinstance(body[name], bool):
            raise ApiError(422, f"Body Invalid: {name!r} must be true or false")
    meta_data = body.get("meta_data")
    if meta_data is not None and (
        not isinstance(meta_data, dict) or not all(isinstance(v, str) for v in meta_data.values())
    ):
        raise ApiError(422, "Body Invalid: 'meta_data' must be an object of string values")
    document = body.get("document")
    if document is not None and not isinstance(document, dict):
        raise ApiError(422, "Body Invalid: 'document' must be an object")
    if document is not None and document.get("document_type") not in (None, "caption", "document"):
        raise ApiError(422, "Body Invalid: document.document_type: Input should be 'caption' or 'document'")
    return language.strip()


def check_language(app: EmulatorApp, language: str) -> None:
    """400 ``Invalid language`` for a language the emulator was not told to support."""
    if not app.options.supports_language(language):
        raise ApiError(400, f"Invalid language: {language!r} is not an available language")


def create_session(app: EmulatorApp, request: Request, account: str, _: str) -> Response:
    """``POST …/session``: JSON with ``language`` (400), JSON (415), an object (422)."""
    body = read_json(request, too_large=422 if app.options.v1 else 413)
    if app.options.v1:
        try:  # V1's callback_* names (its table says "Requires callback_url") as webhook_*
            body = webhook_names(body)
        except ValueError as exc:
            raise ApiError(422, str(exc)) from None
    language = _check_fields(body)
    webhook = webhook_from(body, public_only=app.options.public_webhooks_only)
    check_language(app, language)
    media_source = body.get("media_source")
    if media_source is not None and not app.options.v1:
        raise ApiError(410, "Gone: media_source was removed from V3; upload the media through TUS at /api/v3/files/")
    options = {k: v for k, v in body.items() if k not in ("language", "media_source")}
    if media_source is not None:
        return create_from_media_source(app, account, language, options, webhook, media_source)
    session = app.state.new_session(account, language, options, webhook)
    if app.options.v1:
        return json_response(v1_envelope(session))
    return json_response({"result": {"session_id": session.session_id, "status": session.status}})


def _session_object(session: SessionRecord, host_url: str) -> dict[str, Any]:
    return {
        "id": session.number,
        "session_id": session.session_id,
        "status": session.status,
        "filename": session.filename,
        "duration": session.duration,
        "language": session.language,
        "media_type": session.media_mime,
        "media_url": media_url(session, host_url),
        "error": session.error,
        "created_at": iso_time(session.created_at),
        "started_at": iso_time(session.started_at),
        "finished_at": iso_time(session.finished_at),
        "document": None,
        "session_mode": session.session_mode,
        "custom_model_id": None,
    }


def get_session(app: EmulatorApp, request: Request, account: str, session_id: str) -> Response:
    """``GET …/session/{id}``: the session object (CheckStatus, scriptix-api.md §9.7)."""
    with app.state.lock:
        return json_response(_session_object(owned_session(app, account, session_id), request.host_url))


def list_sessions(app: EmulatorApp, request: Request, account: str, _: str) -> Response:
    """``GET …/session``: the caller's sessions, newest first (``offset``, ``limit`` 1..1000)."""
    try:
        offset = max(0, int(request.args.get("offset", "0")))
        limit = min(1000, max(1, int(request.args.get("limit", "10"))))
    except ValueError:
        raise ApiError(400, "Bad parameter: offset and limit must be whole numbers") from None
    with app.state.lock:
        mine = [s for s in app.state.sessions.values() if s.account == account and not s.deleted]
        mine.sort(key=lambda s: s.number, reverse=True)
        page = [_session_object(s, request.host_url) for s in mine[offset : offset + limit]]
    return json_response({"count": len(page), "total_results": len(mine), "result": page})


def result_body(session: SessionRecord, host_url: str, time_unit: TimeUnit = "s") -> dict[str, Any]:
    """The result envelope (``media_url`` for a kept source, see :mod:`~compat.emulator.media_api`);
    ``results`` only once done, word times in ``time_unit``."""
    body = v1_envelope(session, media_url=media_url(session, host_url))
    if session.status == "done" and session.results is not None:
        body["result"]["results"] = convert_segments(session.results, "s", time_unit)
    return body


def get_result(app: EmulatorApp, request: Request, account: str, session_id: str) -> Response:
    """``GET …/session/{id}/result``; in V1 mode word times in ``time_unit`` (default seconds)."""
    unit: TimeUnit = app.options.time_unit_for("batch_v1") if app.options.v1 else "s"
    with app.state.lock:
        return json_response(result_body(owned_session(app, account, session_id), request.host_url, unit))


def delete_session(app: EmulatorApp, request: Request, account: str, session_id: str) -> Response:
    """``DELETE …/session/{id}``: erase filename and transcript; a second delete is 400."""
    with app.state.lock:
        session = app.state.session_for(account, session_id)
        if session is None:
            raise ApiError(404, NOT_FOUND)
        if session.deleted:
            raise ApiError(400, "The transcript is already marked as removed")
        session.deleted = True
        session.filename = None
        session.results = None
        session.script = None
        media_path = (
            session.media_path if session.media_path and session.media_path.parent == app.state.media_dir else None
        )
    if media_path is not None:
        media_path.unlink(missing_ok=True)
    if app.options.v1:
        # V1 documents no body for a delete; the shim answers the V1 envelope of an erased session.
        erased = {"duration": 0, "filename": None, "media_type": None, "error": None}
        return json_response(v1_envelope(session, **erased, status="deleted"))
    return json_response({"result": {"session_id": session_id, "status": "deleted"}})
