"""TUS 1.0.0 at ``/api/v3/files/``: creation (+ with upload, + defer length), HEAD, PATCH, termination, expiry.

Plus Scriptix's ``GET /api/v3/files/{id}``, which names the session an upload feeds. Bodies are
streamed to the upload's file in blocks; only one PATCH writes to an upload at a time (another
one meanwhile is answered 423).
"""

from __future__ import annotations

import email.utils
import time
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response
from werkzeug.wsgi import get_input_stream

from compat import safejson
from compat.emulator.httputil import ApiError, ConnectionCut, copy_body, cut_connection, json_response
from compat.emulator.metadata import MetadataError, parse_metadata
from compat.emulator.session_views import NOT_FOUND
from compat.emulator.sessions_api import check_language
from compat.emulator.state import SessionRecord, UploadRecord
from compat.emulator.webhooks import WebhookTarget

if TYPE_CHECKING:
    from compat.emulator.app import EmulatorApp

__all__ = [
    "OFFSET_OCTET_STREAM",
    "TUS_EXTENSIONS",
    "TUS_VERSION",
    "create_upload",
    "file_info",
    "head_upload",
    "patch_upload",
    "terminate_upload",
    "tus_options",
]

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,creation-with-upload,creation-defer-length,termination,expiration"
OFFSET_OCTET_STREAM = "application/offset+octet-stream"
DOCUMENT_TYPES = ("caption", "document")
BOOLEAN_KEYS = ("punctuation", "keep_source", "multichannel")
UPLOAD_GONE = "The upload expired (unfinished for too long); start a new upload"


def _http_date(timestamp: float) -> str:
    return email.utils.formatdate(timestamp, usegmt=True)


def check_tus_resumable(request: Request) -> None:
    """412 + ``Tus-Version`` unless the request speaks TUS 1.0.0."""
    if request.headers.get("Tus-Resumable", "").strip() != TUS_VERSION:
        raise ApiError(412, "Precondition Failed: Tus-Resumable must be 1.0.0", {"Tus-Version": TUS_VERSION})


def _non_negative(request: Request, name: str) -> int | None:
    raw = request.headers.get(name)
    if raw is None:
        return None
    if not raw.strip().isdigit():
        raise ApiError(400, f"{name} must be a non-negative integer")
    return int(raw.strip())


def has_body(request: Request) -> bool:
    """Whether a body follows (a positive ``Content-Length`` or chunked transfer)."""
    return bool(request.content_length) or bool(request.environ.get("wsgi.input_terminated"))


def tus_options(app: EmulatorApp, request: Request, account: str, _: str) -> Response:
    """``OPTIONS /api/v3/files/``: what the server speaks (no ``Tus-Resumable`` needed)."""
    return Response(
        status=204,
        headers={
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": TUS_EXTENSIONS,
            "Tus-Max-Size": str(app.options.max_size),
        },
    )


def _document_webhook(metadata: dict[str, str]) -> WebhookTarget | None:
    """The webhook from the ``document`` JSON string (or top-level ``webhook_*`` metadata); 400 if bad."""
    try:
        raw = metadata.get("document")
        if raw:
            try:
                document = safejson.loads(raw)
            except ValueError:
                raise ValueError("the 'document' metadata must be a JSON object string") from None
            if not isinstance(document, dict):
                raise ValueError("the 'document' metadata must be a JSON object string")
            target = WebhookTarget.from_fields(document, where="document.")
            if target is not None:
                return target
        top: dict[str, Any] = {k: metadata[k] for k in ("webhook_url", "webhook_method") if k in metadata}
        return WebhookTarget.from_fields(top)
    except ValueError as exc:
        raise ApiError(400, f"Invalid Upload-Metadata: {exc}") from None


def _check_metadata(metadata: dict[str, str]) -> None:
    if not metadata.get("language", "").strip():
        raise ApiError(400, "Invalid Upload-Metadata: 'language' is required")
    if metadata.get("document_type") not in DOCUMENT_TYPES:
        raise ApiError(400, "Invalid Upload-Metadata: 'document_type' is required: caption or document")
    for key in BOOLEAN_KEYS:
        if key in metadata and metadata[key].lower() not in ("true", "false"):
            raise ApiError(400, f"Invalid Upload-Metadata: {key!r} must be 'true' or 'false'")


def _session_for_upload(
    app: EmulatorApp, account: str, metadata: dict[str, str], webhook: WebhookTarget | None, is_text: bool
) -> SessionRecord:
    options: dict[str, Any] = {k: metadata[k] for k in (*BOOLEAN_KEYS, "document") if k in metadata}
    session_id = metadata.get("session_id")
    if not session_id:
        check_language(app, metadata["language"].strip())
        return app.state.new_session(account, metadata["language"].strip(), options, webhook)
    with app.state.lock:
        session = app.state.session_for(account, session_id)
        if session is None or session.deleted:
            raise ApiError(404, NOT_FOUND)
        if not is_text and session.status != "new":
            raise ApiError(400, f"Invalid data: session {session_id} already has its media (status {session.status})")
        session.options.update(options)
        if webhook is not None:
            session.webhook = webhook
        return session


def create_upload(app: EmulatorApp, request: Request, account: str, _: str) -> Response:
    """``POST /api/v3/files/``: a new upload (and its session), optionally with its first bytes."""
    check_tus_resumable(request)
    length = _non_negative(request, "Upload-Length")
    deferred = request.headers.get("Upload-Defer-Length")
    if deferred is not None and (deferred.strip() != "1" or length is not None):
        raise ApiError(400, "Upload-Defer-Length must be 1, and only without Upload-Length")
    if length is None and deferred is None:
        raise ApiError(400, "Upload-Length (or Upload-Defer-Length: 1) is required")
    if length is not None and length > app.options.max_size:
        raise ApiError(413, f"Upload-Length exceeds Tus-Max-Size ({app.options.max_size})")
    header = request.headers.get("Upload-Metadata")
    try:
        metadata = parse_metadata(header)
    except MetadataError as exc:
        raise ApiError(400, f"Invalid Upload-Metadata: {exc}") from None
    _check_metadata(metadata)
    if has_body(request) and request.mimetype != OFFSET_OCTET_STREAM:
        raise ApiError(415, f"Content-Type must be {OFFSET_OCTET_STREAM}")
    limit = length if length is not None else app.options.max_size
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, "The body goes past Upload-Length (or Tus-Max-Size)")
    webhook = _document_webhook(metadata)
    is_text = metadata.get("filetype", "").lower().startswith("text/")
    session = _session_for_upload(app, account, metadata, webhook, is_text)
    upload = app.state.new_upload(
        account,
        session.session_id,
        length=length,
        metadata=metadata,
        metadata_header=header,
        expiry=app.options.upload_expiry,
    )
    headers = {
        "Location": f"{request.host_url}api/v3/files/{upload.upload_id}",
        "Upload-Expires": _http_date(upload.expires_at),
    }
    if has_body(request):
        with app.state.lock:
            upload.busy = True
        _write(app, request, upload, drop=False)
    elif length == 0:
        _complete(app, upload)
    headers["Upload-Offset"] = str(upload.offset)
    return Response(status=201, headers=headers)


def _live_upload(app: EmulatorApp, account: str, upload_id: str) -> UploadRecord:
    app.state.expire_uploads()
    upload = app.state.upload_for(account, upload_id)
    if upload is None:
        raise ApiError(404, "Upload not found")
    if upload.expired:
        raise ApiError(410, UPLOAD_GONE)
    return upload


def head_upload(app: EmulatorApp, request: Request, account: str, upload_id: str) -> Response:
    """``HEAD /api/v3/files/{id}``: the offset to resume from."""
    check_tus_resumable(request)
    with app.state.lock:
        upload = _live_upload(app, account, upload_id)
        headers = {"Upload-Offset": str(upload.offset), "Cache-Control": "no-store"}
        if upload.length is None:
            headers["Upload-Defer-Length"] = "1"
        else:
            headers["Upload-Length"] = str(upload.length)
        if upload.metadata_header is not None:
            headers["Upload-Metadata"] = upload.metadata_header
        if not upload.completed:
            headers["Upload-Expires"] = _http_date(upload.expires_at)
    return Response(status=200, headers=headers)


def patch_upload(app: EmulatorApp, request: Request, account: str, upload_id: str) -> Response:
    """``PATCH /api/v3/files/{id}``: append the body at ``Upload-Offset`` (204 + the new offset)."""
    check_tus_resumable(request)
    if request.mimetype != OFFSET_OCTET_STREAM:
        raise ApiError(415, f"Content-Type must be {OFFSET_OCTET_STREAM}")
    offset = _non_negative(request, "Upload-Offset")
    if offset is None:
        raise ApiError(400, "Upload-Offset is required")
    new_length = _non_negative(request, "Upload-Length")
    with app.state.lock:
        upload = _live_upload(app, account, upload_id)
        if upload.busy:
            raise ApiError(423, "Locked: another PATCH is writing to this upload")
        if offset != upload.offset:
            raise ApiError(409, f"Upload-Offset {offset} does not match the server's offset {upload.offset}")
        if new_length is not None:
            if upload.length is not None and new_length != upload.length:
                raise ApiError(400, "Upload-Length cannot change once set")
            if new_length > app.options.max_size:
                raise ApiError(413, f"Upload-Length exceeds Tus-Max-Size ({app.options.max_size})")
            if new_length < upload.offset:
                raise ApiError(400, "Upload-Length is smaller than the bytes already received")
            upload.length = new_length
        limit = (upload.length if upload.length is not None else app.options.max_size) - upload.offset
        if request.content_length is not None and request.content_length > limit:
            raise ApiError(413, "The body goes past Upload-Length (or Tus-Max-Size)")
        upload.busy = True
    drop = app.faults.take_drop_patch()
    _write(app, request, upload, drop=drop)
    if drop:
        raise ConnectionCut()
    headers = {"Upload-Offset": str(upload.offset)}
    if not upload.completed:
        headers["Upload-Expires"] = _http_date(upload.expires_at)
    return Response(status=204, headers=headers)


def _write(app: EmulatorApp, request: Request, upload: UploadRecord, *, drop: bool) -> None:
    """Stream the body into the upload (the caller set ``busy``); complete it when all bytes are in.

    With ``drop``, read about half the body, keep it, and cut the connection.
    """
    start = upload.offset
    length = upload.length
    limit = (length if length is not None else app.options.max_size) - start
    stop_after = None
    if drop:
        stop_after = (request.content_length or 2 * 65536) // 2
    try:
        stream = get_input_stream(request.environ)
        with open(upload.path, "r+b") as target:
            target.seek(start)
            copied = copy_body(stream, target, limit=limit, stop_after=stop_after)
            if copied.overflow:
                target.truncate(start)
    except BaseException:
        with app.state.lock:
            upload.busy = False
        raise
    with app.state.lock:
        upload.busy = False
        if not copied.overflow:
            upload.offset = start + copied.written
        upload.expires_at = time.time() + app.options.upload_expiry
        done = upload.length is not None and upload.offset == upload.length
    if drop:
        cut_connection(request)
    if copied.overflow:
        raise ApiError(413, "The body goes past Upload-Length (or Tus-Max-Size)")
    if done:
        _complete(app, upload)


def _complete(app: EmulatorApp, upload: UploadRecord) -> None:
    with app.state.lock:
        if upload.completed:
            return
        upload.completed = True
        session = app.state.sessions.get(upload.session_id)
    if session is None:
        return
    if upload.is_text:
        app.lifecycle.script_ready(session, upload.path)
    else:
        app.lifecycle.media_ready(
            session, upload.path, filename=upload.metadata.get("filename"), filetype=upload.metadata.get("filetype")
        )


def terminate_upload(app: EmulatorApp, request: Request, account: str, upload_id: str) -> Response:
    """``DELETE /api/v3/files/{id}`` (termination): 204, then 404 for it."""
    check_tus_resumable(request)
    with app.state.lock:
        upload = app.state.upload_for(account, upload_id)
        if upload is None:
            raise ApiError(404, "Upload not found")
        if upload.busy:
            raise ApiError(423, "Locked: a PATCH is writing to this upload")
        app.state.remove_upload(upload)
    return Response(status=204)


def file_info(app: EmulatorApp, request: Request, account: str, upload_id: str) -> Response:
    """``GET /api/v3/files/{id}``: the session the upload feeds and its decoded metadata."""
    with app.state.lock:
        upload = _live_upload(app, account, upload_id)
        metadata: dict[str, Any] = dict(upload.metadata)
        metadata.setdefault("folder_id", None)
        body = {"count": 1, "total_results": 1, "result": {"session_id": upload.session_id, "metadata": metadata}}
    return json_response(body)
