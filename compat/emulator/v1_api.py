"""The V1-only calls: ``PUT …/session/{id}`` (raw upload), ``POST …/session/{id}/align`` and
``media_source`` on create.

V3 removed them, so by default they answer 410 with a JSON error. With ``v1=True`` they are
served as V1 did (media streamed to disk, then the normal lifecycle), which lets a test compare a
legacy integration against the shim. ``media_source`` is fetched only from 127.0.0.1/localhost:
the emulator is a test tool and must not reach out anywhere else.
"""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from werkzeug.wrappers import Request, Response
from werkzeug.wsgi import get_input_stream

from compat.emulator.httputil import BLOCK_SIZE, ApiError, copy_body, json_response
from compat.emulator.lifecycle import MAX_SCRIPT_BYTES
from compat.emulator.session_views import owned_session, v1_envelope
from compat.emulator.state import SessionRecord
from compat.emulator.webhooks import WebhookTarget
from compat.filenames import is_plain_filename
from compat.wire import ALREADY_UPLOADED

if TYPE_CHECKING:
    from compat.emulator.app import EmulatorApp

__all__ = [
    "ALREADY_UPLOADED",
    "EMPTY_UPLOAD",
    "LOCAL_HOSTS",
    "align",
    "check_media_url",
    "create_from_media_source",
    "download_media",
    "media_filename",
    "part_type",
    "put_media",
]

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
GONE_UPLOAD = "Gone: the V1 PUT upload was removed; upload the media through TUS at /api/v3/files/"
GONE_ALIGN = "Gone: the V1 multipart /align call was removed; upload media and transcript through TUS"
EMPTY_UPLOAD = "Invalid data: the upload body is empty"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an HTTP token: what a media subtype may be


def media_filename(url: str) -> str:
    """V1's filename for ``media_source``: the URL with every ``:`` and ``/`` replaced by ``-``."""
    return url.replace(":", "-").replace("/", "-")


def _media_type(value: str | None) -> str | None:
    """``audio/*``/``video/*`` from a Content-Type, else ``None``."""
    mime = (value or "").split(";", 1)[0].strip().lower()
    major, _, minor = mime.partition("/")
    return mime if major in ("audio", "video") and _TOKEN.fullmatch(minor) else None


def part_type(declared: str | None, filename: str | None) -> str | None:
    """A multipart part's type; an absent or generic one is guessed from its file name."""
    if declared and declared.lower() not in ("application/octet-stream", "binary/octet-stream"):
        return declared
    guessed, _ = mimetypes.guess_type(filename or "")
    return guessed or declared or None


def _checked_media(content_type: str | None, filename: str | None) -> tuple[str, str]:
    """The media type and file name of an upload, or V1's 415/400 (before the session is looked at)."""
    mime = _media_type(content_type)
    if mime is None:
        raise ApiError(415, "Content Invalid: Content-Type must be audio/* or video/*")
    name = "upload" if filename is None else filename
    if not is_plain_filename(name):
        raise ApiError(400, "Invalid data: x-filename must be a plain file name (no paths or control characters)")
    return mime, name


def _check_new(session: SessionRecord) -> None:
    if session.status != "new":
        raise ApiError(400, ALREADY_UPLOADED)


def _uploaded(session: SessionRecord, filename: str | None, kind: str | None) -> Response:
    return json_response(
        v1_envelope(session, status="uploaded", duration=0, error=None, filename=filename, media_type=kind)
    )


def put_media(app: EmulatorApp, request: Request, account: str, session_id: str) -> Response:
    """V1 ``PUT …/session/{id}``: the raw body is the media (``audio/*``/``video/*``, ``x-filename``).

    The headers are checked before the session (415/400, then 404), as the shim checks them.
    """
    if not app.options.v1:
        raise ApiError(410, GONE_UPLOAD)
    mime, filename = _checked_media(request.headers.get("Content-Type"), request.headers.get("x-filename"))
    if request.content_length == 0:
        raise ApiError(400, EMPTY_UPLOAD)
    session = owned_session(app, account, session_id)
    if (request.content_length or 0) > app.options.max_size:
        raise ApiError(413, "The media is larger than the maximum size")
    _check_new(session)
    path = app.state.media_path(session_id)
    with open(path, "wb") as target:
        copied = copy_body(get_input_stream(request.environ), target, limit=app.options.max_size)
    if copied.overflow or copied.disconnected or copied.written == 0:
        path.unlink(missing_ok=True)
        if copied.overflow:
            raise ApiError(413, "The media is larger than the maximum size")
        raise ApiError(400, "Invalid data: the upload body is incomplete" if copied.disconnected else EMPTY_UPLOAD)
    info = app.lifecycle.media_ready(session, path, filename=filename, filetype=mime)
    return _uploaded(session, filename, info.kind or mime.partition("/")[0])


def align(app: EmulatorApp, request: Request, account: str, session_id: str) -> Response:
    """V1 ``POST …/session/{id}/align``: multipart ``media_file`` + ``transcript_file``.

    Checked in the shim's order: multipart (415), both parts (422), the media's type (415), then
    the session (404).
    """
    if not app.options.v1:
        raise ApiError(410, GONE_ALIGN)
    if request.mimetype != "multipart/form-data":
        raise ApiError(415, "Content Invalid: /align takes multipart/form-data with media_file and transcript_file")
    if (request.content_length or 0) > app.options.max_size:
        raise ApiError(413, "The media is larger than the maximum size")
    media, transcript = request.files.get("media_file"), request.files.get("transcript_file")
    text_field = request.form.get("transcript_file")
    if media is None or (transcript is None and text_field is None):
        raise ApiError(422, "Body Invalid: /align needs the parts media_file and transcript_file")
    mime, filename = _checked_media(part_type(media.mimetype, media.filename), media.filename or None)
    session = owned_session(app, account, session_id)
    _check_new(session)
    path = app.state.media_path(session_id)
    media.save(path, buffer_size=BLOCK_SIZE)
    if transcript is not None:
        text = transcript.stream.read(MAX_SCRIPT_BYTES).decode("utf-8", errors="replace")
    else:
        text = str(text_field)[:MAX_SCRIPT_BYTES]
    with app.state.lock:
        session.script = text
        session.session_mode = "align"
    info = app.lifecycle.media_ready(session, path, filename=filename, filetype=mime)
    return _uploaded(session, filename, info.kind or mime.partition("/")[0])


def create_from_media_source(
    app: EmulatorApp,
    account: str,
    language: str,
    options: dict[str, Any],
    webhook: WebhookTarget | None,
    url: Any,
) -> Response:
    """V1 create with ``media_source``: download it (127.0.0.1/localhost only), answer ``uploaded``."""
    url = check_media_url(url)
    session = app.state.new_session(account, language, options, webhook)
    path = app.state.media_path(session.session_id)
    try:
        filetype = download_media(url, path, app.options.max_size)
    except ApiError:
        with app.state.lock:
            app.state.sessions.pop(session.session_id, None)
        path.unlink(missing_ok=True)
        raise
    filename = media_filename(url)
    info = app.lifecycle.media_ready(session, path, filename=filename, filetype=filetype)
    return _uploaded(session, filename, info.kind or "audio")


def check_media_url(url: Any, field: str = "media_source") -> str:
    """``url`` when the emulator may download it: 422 when it is no http(s) URL, 400 when not local."""
    parts = urlsplit(url) if isinstance(url, str) and not _CONTROL.search(url) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApiError(422, f"Body Invalid: '{field}' must be an http(s) URL")
    if parts.hostname not in LOCAL_HOSTS:
        raise ApiError(400, f"Invalid data: the emulator downloads {field} only from 127.0.0.1 or localhost")
    return str(url)


def download_media(url: str, path: Path, max_size: int, field: str = "media_source") -> str | None:
    """Stream ``url`` (checked with :func:`check_media_url`) into ``path``; its ``audio/*``/``video/*`` type.

    400 when it cannot be fetched, answers no 2xx or is empty; 413 past ``max_size`` bytes.
    """
    with requests.Session() as client:
        client.trust_env = False
        try:
            with client.get(url, stream=True, timeout=(5, 60), allow_redirects=False) as response:
                if not 200 <= response.status_code < 300:
                    raise ApiError(400, f"Invalid data: {field} answered {response.status_code}")
                written = 0
                with open(path, "wb") as target:
                    for block in response.iter_content(BLOCK_SIZE):
                        written += len(block)
                        if written > max_size:
                            raise ApiError(413, f"{field} is larger than the maximum size")
                        target.write(block)
                if written == 0:
                    raise ApiError(400, f"Invalid data: {field} is empty")
                return _media_type(response.headers.get("Content-Type"))
        except requests.RequestException as exc:
            raise ApiError(400, f"Invalid data: {field} could not be downloaded ({type(exc).__name__})") from None
