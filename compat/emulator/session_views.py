"""A session as the routes answer it: the caller's own (or 404), and V1's envelope of it.

Below every route module, so that the V1-only calls (:mod:`~compat.emulator.v1_api`) and the
session routes (:mod:`~compat.emulator.sessions_api`) share it without importing each other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from compat.emulator.httputil import ApiError
from compat.emulator.state import SessionRecord

if TYPE_CHECKING:
    from compat.emulator.app import EmulatorApp

__all__ = ["NOT_FOUND", "owned_session", "v1_envelope"]

NOT_FOUND = "The requested session was not found, or did not belong to the supplied token"


def v1_envelope(session: SessionRecord, **overrides: Any) -> dict[str, Any]:
    """The V1 answer shape: ``{"count", "total_results", "result": {duration, error, filename, ...}}``."""
    result = {
        "duration": session.duration,
        "error": session.error,
        "filename": session.filename,
        "media_type": session.media_kind,
        "media_url": None,
        "session_id": session.session_id,
        "status": session.status,
    }
    result.update(overrides)
    return {"count": 1, "total_results": 1, "result": result}


def owned_session(app: EmulatorApp, account: str, session_id: str) -> SessionRecord:
    """The caller's live session, or 404."""
    session = app.state.session_for(account, session_id)
    if session is None or session.deleted:
        raise ApiError(404, NOT_FOUND)
    return session
