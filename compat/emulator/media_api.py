"""Kept sources: a ``keep_source`` session's media, at the ``media_url`` its answers show.

Scriptix keeps the uploaded file of a ``keep_source`` session "to be used in the editors" and shows
where in ``media_url`` (a storage URL such as ``https://s3…/account-1/<session>-<file>``, fetched
without the API token). The emulator does the same: once a ``keep_source`` session has its media,
the session object and the result carry ``{emulator}/media/{key}/{filename}``, where ``key`` is a
random capability of that session, and ``GET`` on it answers the bytes (no token, as a storage URL).
Sessions without ``keep_source``, without media yet, or deleted have ``media_url: null``.
"""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from werkzeug.utils import send_file
from werkzeug.wrappers import Request, Response

from compat.emulator.httputil import ApiError
from compat.emulator.state import SessionRecord

if TYPE_CHECKING:
    from compat.emulator.app import EmulatorApp

__all__ = ["MEDIA_PREFIX", "get_media", "media_url"]

MEDIA_PREFIX = "/media"


def _kept(session: SessionRecord | None) -> Path | None:
    """Where a session's kept source is, or ``None`` when it has none to show."""
    if session is None or session.deleted or not session.flag("keep_source") or session.media_path is None:
        return None
    return session.media_path


def media_url(session: SessionRecord, host_url: str) -> str | None:
    """The ``media_url`` of ``session`` on the emulator at ``host_url`` (call under the state lock)."""
    if _kept(session) is None:
        return None
    name = quote(session.filename or "media", safe="")
    return f"{host_url.rstrip('/')}{MEDIA_PREFIX}/{session.media_key}/{name}"


def get_media(app: EmulatorApp, request: Request, _: str, key: str) -> Response:
    """``GET /media/{key}/{filename}``: the kept source, or 404 (unknown key, no longer kept)."""
    with app.state.lock:
        session = next(
            (s for s in app.state.sessions.values() if hmac.compare_digest(s.media_key.encode(), key.encode())), None
        )
        path = _kept(session)
        mimetype = session.media_mime if session is not None else None
    if path is None:
        raise ApiError(404, "Not Found")
    try:
        stream = open(path, "rb")  # noqa: SIM115 - send_file closes it once the answer is sent
    except FileNotFoundError:
        raise ApiError(404, "Not Found") from None
    return send_file(stream, request.environ, mimetype=mimetype or "application/octet-stream", etag=False)
