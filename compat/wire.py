"""What the legacy APIs say on the wire, written once for the shim's front doors and the emulator.

The shim must answer a legacy call in the words the old API (and the emulator's legacy mode, which
plays it in tests) used: the Zoom Media API's error names and texts, and Batch V1's older
``callback_*`` names for the webhook fields. Both read them here, so they cannot drift apart.
This module imports nothing from ``compat``; each caller raises its own error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "ALREADY_UPLOADED",
    "CALLBACK_ALIASES",
    "CALLBACK_FORMATS",
    "ZOOM_ERROR_NAMES",
    "ZOOM_NOT_ACCEPTABLE",
    "ZOOM_NOT_DONE",
    "ZOOM_UNAUTHORIZED",
    "ZOOM_UPLOAD_PART",
    "webhook_names",
    "zoom_error_body",
]

ALREADY_UPLOADED = "Invalid data: media was already uploaded for this session"
"""A second upload to a session (Batch V1 and the Zoom Media API alike)."""

# -- Batch V1 ---------------------------------------------------------------------------------

CALLBACK_ALIASES = {
    "callback_url": "webhook_url",
    "callback_method": "webhook_method",
    "callback_headers": "webhook_headers",
}
"""Older (Zoom Media / api v2) names for the webhook fields; the V1 table itself says "callback_url"."""


def webhook_names(fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` with each ``callback_*`` name as its ``webhook_*`` one; ``ValueError`` (``Body
    Invalid: …``, a 422) when a body gives both names of one field."""
    renamed = dict(fields)
    for old, new in CALLBACK_ALIASES.items():
        if old in renamed:
            if new in renamed:
                raise ValueError(f"Body Invalid: give {new} or {old}, not both")
            renamed[new] = renamed.pop(old)
    return renamed


# -- the Zoom Media API v1/v2 ----------------------------------------------------------------------

ZOOM_UPLOAD_PART = "upload"
"""The multipart file part an upload sends its media in."""
CALLBACK_FORMATS = ("application/json", "text/vtt")
ZOOM_UNAUTHORIZED = "Unauthorized: the X-Zoom-S2T-Key header is missing or invalid"
ZOOM_NOT_ACCEPTABLE = (
    "Not Acceptable: a session is served as application/json, text/vtt, text/srt or application/x-subrip"
)
ZOOM_NOT_DONE = "Conflict: the session is not done yet; its captions are served once done is true"
ZOOM_ERROR_NAMES: dict[int, str] = {
    400: "invalid-data",
    401: "unauthorized",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    408: "request-timeout",
    409: "conflict",
    410: "gone",
    413: "too-large",
    415: "content-invalid",
    422: "body-invalid",
    429: "rate-limit-exceeded",
    500: "server-error",
    502: "bad-gateway",
    503: "service-unavailable",
    504: "gateway-timeout",
}
"""The ``error`` name of each status, unless the error names its own (``invalid-language`` …)."""


def zoom_error_body(status: int, message: str, code: str | None = None) -> dict[str, str]:
    """``{"error": <name>, "error_message": message}``; the name is ``code``, else the status's."""
    return {"error": code or ZOOM_ERROR_NAMES.get(status, "error"), "error_message": message}
