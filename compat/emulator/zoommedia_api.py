"""The Zoom Media API v1/v2 (``api.zoommedia.ai``), served in the legacy mode (``v1=True``) beside Batch V1.

Before the Scriptix name the same service spoke this API; most public client code (the vendor's
``pyzoomapi``, a Node sample, a C# Azure Function, Logic App templates) still does. The emulator
serves it so that a comparison (``verify``) can run a Zoom Media flow against the "old behaviour".
Facts: ``shared/research/zoommedia.md``. ``/api/v1/`` and ``/api/v2/`` are served alike: the
clients found read the same fields from both.

==========================================  ==============================================================
``POST /api/v{1,2}/speech-to-text/session``  JSON ``language`` (``en-us``, ``nl-nl``), ``punctuation``,
(``/`` optional)                             ``callback_url``, ``callback_method`` (POST/PUT),
                                             ``callback_format`` (``application/json``/``text/vtt``),
                                             ``callback_headers`` (``"Name: value"`` strings); other keys
                                             are kept and ignored. Answers the flat
                                             ``{"language", "sessionId", "zoom_id"}`` (the same id twice).
``POST …/session/{id}``                      the media: ``multipart/form-data`` with a file part named
                                             ``upload`` (streamed to disk as it arrives, never held whole;
                                             other parts are ignored), or JSON ``{"video_url": "http…"}``
                                             (fetched from 127.0.0.1/localhost only). Answers the same
                                             flat object as the create.
``GET …/session/{id}`` (``/`` optional)      ``{"language", "sessionId", "zoom_id", "done", "results"}``:
                                             ``done`` is ``true`` once transcribed, ``results`` is
                                             ``[{"speaker", "text", "result": [[word, start, end,
                                             confidence], …]}, …]`` (``[]`` until done), times in the
                                             ``time_unit`` (default milliseconds, whole numbers). With
                                             ``Accept: text/vtt`` (``text/srt``, ``application/x-subrip``;
                                             or a ``format`` query parameter) the captions themselves.
==========================================  ==============================================================

Tokens: ``X-Zoom-S2T-Key`` or ``X-Zoom-S2T-Token`` (the Logic App templates' header), checked like
every other route (``tokens=``). Errors are ``{"error": <name>, "error_message": <text>}`` (the names
the v2 docs give: ``invalid-language``, ``unauthorized``, ``content-invalid``, ``body-invalid``,
``server-error``; the SDK raises with ``error_message`` or ``error``); our choices where the docs
are silent:

* 401 ``unauthorized``: no token or an unknown one (one text for both, as through the shim);
* 400 ``invalid-language``: ``language`` missing or not available (``languages=``);
* 415 ``content-invalid``: a create that is not JSON; an upload that is neither multipart nor JSON;
* 422 ``body-invalid``: a bad field; a multipart upload without an ``upload`` file part; a JSON upload
  without an http(s) ``video_url``;
* 400 ``invalid-data``: an empty or cut-off upload, a ``video_url`` that cannot be fetched;
  413 ``too-large``: over ``max_size``;
* 404 ``not-found``: an unknown session, or another token's;
* 400 ``already-uploaded``: a second upload (also while the first is still streaming in), as the
  shim answers a second Batch V1 upload;
* 406 ``not-acceptable``: an ``Accept`` naming none of JSON, WebVTT, SRT (checked before the session);
* 409 ``not-done``: captions of a session that is not done yet. 409 and not 404, so a caller (the Logic
  App polls for captions) can tell "not yet" from "no such session"; not an empty ``WEBVTT``, which a
  caller would store as the captions;
* a session whose media cannot be transcribed reads ``done: true``, ``results: []`` with
  ``error: "transcription-failed"`` and the reason in ``error_message`` (so pollers stop); its
  captions are 409 ``transcription-failed``;
* 410 ``gone``: any of these routes outside the legacy mode, as Scriptix retired them.

A callback goes to ``callback_url`` with ``callback_method`` when the session is done: the JSON body
``{"sessionId", "zoom_id"}``, the ``callback_headers`` and ``X-Zoom-Session``/``X-Scriptix-Session``,
whatever the ``callback_format`` (results stopped being included in May 2020; ``text/vtt`` receivers
fetch the captions), with the webhook retry schedule: exactly what a V3 webhook delivers.
"""

from __future__ import annotations

import re
from typing import IO, TYPE_CHECKING, Any

from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.sansio.multipart import NEED_DATA, Data, Epilogue, Field, File, MultipartDecoder
from werkzeug.wrappers import Request, Response
from werkzeug.wsgi import get_input_stream

from compat import wire
from compat.emulator.httputil import ApiError, json_response
from compat.emulator.session_views import owned_session
from compat.emulator.sessions_api import check_language, read_json
from compat.emulator.state import SessionRecord
from compat.emulator.v1_api import check_media_url, download_media, media_filename, part_type
from compat.emulator.webhooks import WebhookTarget, refuse_insecure
from compat.filenames import is_plain_filename
from compat.formats import convert_segments, render
from compat.negotiate import CONTENT_TYPES, negotiate

if TYPE_CHECKING:
    from compat.emulator.app import EmulatorApp

__all__ = [
    "GONE",
    "INCOMPLETE",
    "TOKEN_HEADERS",
    "create_session",
    "error_response",
    "get_session",
    "session_answer",
    "status_answer",
    "upload",
]

TOKEN_HEADERS = ("x-zoom-s2t-token",)
"""Token headers these routes read besides ``X-Zoom-S2T-Key`` (and ``Authorization: Bearer``)."""
GONE = "Gone: the Zoom Media API v1/v2 was retired; use the V3 API (TUS uploads to /api/v3/files/)"
INCOMPLETE = "Invalid data: the upload body is incomplete"

_READ = 64 * 1024
_MAX_PART_HEADERS = 64 * 1024  # what the multipart parser may buffer beyond one read (part headers)
_MAX_PARTS = 32
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def error_response(error: ApiError) -> Response:
    """An :class:`ApiError` the Zoom Media way."""
    return json_response(wire.zoom_error_body(error.status, error.message, error.code), error.status, error.headers)


def _legacy_only(app: EmulatorApp) -> None:
    if not app.options.v1:
        raise ApiError(410, GONE, code="gone")


def session_answer(session: SessionRecord) -> dict[str, Any]:
    """The flat answer naming a session: ``{"language", "sessionId", "zoom_id"}`` (call under the lock)."""
    return {"language": session.language, "sessionId": session.session_id, "zoom_id": session.session_id}


def status_answer(session: SessionRecord, time_unit: str) -> dict[str, Any]:
    """``GET …/session/{id}`` as JSON: the session, ``done`` and ``results`` (call under the lock)."""
    body = session_answer(session)
    if session.status == "done" and session.results is not None:
        segments = [
            {"speaker": s.get("speaker"), "text": s.get("text"), "result": s.get("result")} for s in session.results
        ]
        body.update(done=True, results=convert_segments(segments, "s", "ms" if time_unit == "ms" else "s"))
    elif session.status == "failed":
        body.update(done=True, results=[], error="transcription-failed", error_message=session.error or "failed")
    else:
        body.update(done=False, results=[])
    return body


# create ---------------------------------------------------------------------------------------


def _callback(body: dict[str, Any], *, public_only: bool) -> WebhookTarget | None:
    """The callback of a create body, checked in the shim's order: its form, then V1's host rule."""
    try:
        target = WebhookTarget.from_fields(body, prefix="callback")
    except ValueError as exc:
        raise ApiError(422, f"Body Invalid: {exc}") from None
    fmt = body.get("callback_format")
    if fmt is not None and fmt not in wire.CALLBACK_FORMATS:
        raise ApiError(422, "Body Invalid: 'callback_format' must be application/json or text/vtt")
    if fmt is not None and target is None:
        raise ApiError(422, "Body Invalid: 'callback_format' requires callback_url")
    if target is not None and public_only:
        try:
            refuse_insecure(target.url, "callback_url")
        except ValueError as exc:
            raise ApiError(422, f"Body Invalid: {exc}") from None
    return target


def create_session(app: EmulatorApp, request: Request, account: str, _: str) -> Response:
    """``POST /api/v{1,2}/speech-to-text/session``: JSON (415), an object (422), ``language`` (400)."""
    _legacy_only(app)
    body = read_json(request)
    language = body.get("language")
    if not isinstance(language, str) or not language.strip() or len(language) > 64 or _CONTROL.search(language):
        raise ApiError(
            400, "Invalid language: 'language' must be a non-empty string such as \"en-us\"", code="invalid-language"
        )
    if "punctuation" in body and not isinstance(body["punctuation"], bool):
        raise ApiError(422, "Body Invalid: 'punctuation' must be true or false")
    callback = _callback(body, public_only=app.options.public_webhooks_only)
    try:
        check_language(app, language.strip())
    except ApiError as error:
        raise ApiError(400, error.message, code="invalid-language") from None
    options = {k: v for k, v in body.items() if k != "language"}
    session = app.state.new_session(account, language.strip(), options, callback)
    with app.state.lock:
        return json_response(session_answer(session))


# upload ---------------------------------------------------------------------------------------


def _claim(app: EmulatorApp, account: str, session_id: str) -> SessionRecord:
    """The caller's session, marked as receiving its media; 404, or 400 when it has (or is getting) some."""
    with app.state.lock:
        session = owned_session(app, account, session_id)
        if session.status != "new" or session.receiving:
            raise ApiError(400, wire.ALREADY_UPLOADED, code="already-uploaded")
        session.receiving = True
        return session


def _part_name(filename: str) -> str:
    """A part's file name without any directory (browsers once sent ``C:\\…``); 422 when unusable."""
    name = re.split(r"[\\/]", filename)[-1].strip()
    if name and not is_plain_filename(name):
        raise ApiError(422, "Body Invalid: the upload's file name must be a plain file name")
    return name or wire.ZOOM_UPLOAD_PART


def _receive_multipart(
    source: IO[bytes], boundary: bytes, target: IO[bytes], max_size: int
) -> tuple[str, str | None, int]:
    """Stream the ``upload`` part of a multipart body into ``target``: its file name, declared type and size.

    The body is read as it arrives (at most 64 KiB at a time, into one reused buffer) and fed to
    Werkzeug's streaming multipart parser; only the ``upload`` part's bytes are kept (other parts are
    read and dropped).
    """
    buffer = bytearray(_READ)
    decoder = MultipartDecoder(boundary, _READ + _MAX_PART_HEADERS, max_parts=_MAX_PARTS)
    found: tuple[str, str | None] | None = None
    keeping = ended = False
    written = 0
    while not ended:
        try:
            count = source.readinto(buffer)  # type: ignore[attr-defined]  # what has arrived, not a full block
        except (ClientDisconnected, OSError):
            raise ApiError(400, INCOMPLETE) from None
        block = bytes(buffer[:count]) if count else b""
        try:
            decoder.receive_data(block or None)  # None: the body has ended
            event = decoder.next_event()
            while event is not NEED_DATA and not ended:
                if isinstance(event, File) and event.name == wire.ZOOM_UPLOAD_PART and found is None:
                    found = (_part_name(event.filename), event.headers.get("content-type"))
                    keeping = True
                elif isinstance(event, File | Field):
                    keeping = False
                elif isinstance(event, Data) and keeping:
                    written += len(event.data)
                    if written > max_size:
                        raise ApiError(413, "The media is larger than the maximum size")
                    target.write(event.data)
                    keeping = event.more_data
                ended = isinstance(event, Epilogue)
                event = decoder.next_event() if not ended else NEED_DATA
        except RequestEntityTooLarge:
            raise ApiError(
                422, "Body Invalid: the multipart body has too many parts or too large part headers"
            ) from None
        except ValueError as exc:  # no Content-Disposition; or the body ended before its closing boundary
            if not block:
                raise ApiError(400, INCOMPLETE) from None
            raise ApiError(422, f"Body Invalid: the multipart body is malformed ({exc})") from None
        if not block and not ended:
            raise ApiError(400, INCOMPLETE)
    if found is None:
        raise ApiError(422, f"Body Invalid: the multipart body has no file part named {wire.ZOOM_UPLOAD_PART!r}")
    if written == 0:
        raise ApiError(400, f"Invalid data: the file part {wire.ZOOM_UPLOAD_PART!r} is empty")
    return found[0], found[1], written


def upload(app: EmulatorApp, request: Request, account: str, session_id: str) -> Response:
    """``POST …/session/{id}``: multipart ``upload`` or JSON ``video_url`` (415 otherwise).

    Checked in this order: the content type (415), the size (413), the session (404), a second
    upload (400), then the body (422/400).
    """
    _legacy_only(app)
    multipart = request.mimetype == "multipart/form-data"
    if not multipart and request.mimetype != "application/json":
        raise ApiError(
            415, "Content Invalid: upload multipart/form-data with a file part named upload, or JSON with video_url"
        )
    if (request.content_length or 0) > app.options.max_size + (_MAX_PART_HEADERS if multipart else 0):
        raise ApiError(413, "The media is larger than the maximum size")
    boundary = request.mimetype_params.get("boundary", "")
    if multipart and not boundary:
        raise ApiError(422, "Body Invalid: the multipart Content-Type has no boundary")
    video_url: str | None = None
    if not multipart:
        body = read_json(request)
        if "video_url" not in body:
            raise ApiError(422, "Body Invalid: a JSON upload needs 'video_url'")
        video_url = check_media_url(body["video_url"], "video_url")
    session = _claim(app, account, session_id)
    path = app.state.media_path(session_id)
    try:
        if video_url is not None:
            filename, declared = (
                media_filename(video_url),
                download_media(video_url, path, app.options.max_size, "video_url"),
            )
        else:
            with open(path, "wb") as target:
                filename, declared, _ = _receive_multipart(
                    get_input_stream(request.environ), boundary.encode("latin-1"), target, app.options.max_size
                )
            declared = part_type(declared, filename)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    finally:
        with app.state.lock:
            session.receiving = False
    filetype = declared if (declared or "").partition("/")[0] in ("audio", "video") else None
    app.lifecycle.media_ready(session, path, filename=filename, filetype=filetype)
    with app.state.lock:
        return json_response(session_answer(session))


# status, result and captions ------------------------------------------------------------------


def get_session(app: EmulatorApp, request: Request, account: str, session_id: str) -> Response:
    """``GET …/session/{id}``: JSON, or captions for ``Accept: text/vtt`` & co. (406 first, then 404, 409)."""
    _legacy_only(app)
    chosen = negotiate(request.headers.get("Accept"), request.args.get("format"))
    if chosen is None:
        raise ApiError(406, wire.ZOOM_NOT_ACCEPTABLE)
    unit = app.options.time_unit_for("zoommedia")
    with app.state.lock:
        session = owned_session(app, account, session_id)
        if chosen.format == "json":
            return json_response(status_answer(session, unit))
        if session.status == "failed":
            raise ApiError(
                409, f"Conflict: {session.error or 'the media could not be transcribed'}", code="transcription-failed"
            )
        if session.status != "done" or session.results is None:
            raise ApiError(409, wire.ZOOM_NOT_DONE, code="not-done")
        results = {"results": session.results}
    text = render(results, chosen.format, time_unit="s")  # the emulator keeps seconds
    return Response(text, status=200, content_type=CONTENT_TYPES[chosen.media_type])
