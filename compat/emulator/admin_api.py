"""``/_emulator/*``: health, a summary of state, and the fault settings (never subject to faults)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from werkzeug.wrappers import Request, Response

from compat import safejson
from compat.emulator.httputil import ApiError, json_response

if TYPE_CHECKING:
    from compat.emulator.app import EmulatorApp

__all__ = ["get_faults", "health", "set_faults", "state_summary"]


def health(app: EmulatorApp, request: Request) -> Response:
    """``GET /_emulator/health``: ``{"status": "ok"}``."""
    return json_response({"status": "ok"})


def state_summary(app: EmulatorApp, request: Request) -> Response:
    """``GET /_emulator/state``: sessions, uploads and webhook attempts (no tokens, no transcripts)."""
    app.state.expire_uploads()
    sessions = [s.as_dict() for s in app.state.sessions_snapshot().values()]
    uploads = [u.as_dict() for u in app.state.uploads_snapshot().values()]
    webhooks = [
        {
            "session_id": d.session_id,
            "attempt": d.attempt,
            "method": d.method,
            "status": d.status,
            "error": d.error,
            "delivered": d.delivered,
        }
        for d in app.webhooks.deliveries
    ]
    return json_response(
        {"sessions": sessions, "uploads": uploads, "webhooks": webhooks, "faults": app.faults.as_dict()}
    )


def get_faults(app: EmulatorApp, request: Request) -> Response:
    """``GET /_emulator/faults``: the settings and how many faults were injected."""
    return json_response({**app.faults.as_dict(), "injected": app.faults.injected})


def set_faults(app: EmulatorApp, request: Request) -> Response:
    """``POST /_emulator/faults`` with a JSON object of settings to change (400 if one is bad)."""
    try:
        changes = safejson.loads(request.get_data(cache=False) or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "the body must be a JSON object of fault settings") from None
    if not isinstance(changes, dict):
        raise ApiError(400, "the body must be a JSON object of fault settings")
    try:
        app.faults.update(**changes)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    return get_faults(app, request)
