"""The legacy operations the shim serves, and what replaces each in V3."""

from __future__ import annotations

from typing import Literal

__all__ = ["REPLACEMENTS", "LegacyOperation", "api_of", "replacement_for"]

LegacyOperation = Literal[
    "create_session",
    "media_source",
    "upload",
    "align",
    "get_result",
    "delete",
    "zm_create_session",
    "zm_upload",
    "zm_video_url",
    "zm_get_result",
    "zm_captions",
]
"""The Batch V1 operations, then the Zoom Media API v1/v2 ones (``zm_``: create a session, the multipart
``upload``, an upload by ``video_url``, the status/result ``GET``, the captions ``GET`` with ``Accept: text/vtt``)."""
_ZOOM = "MIGRATION.md#the-zoom-media-api-v1v2-generation"

REPLACEMENTS: dict[str, tuple[str, str]] = {
    "create_session": ("V3Client.create_session(**fields) (the same V3 call)", "MIGRATION.md#1-create-a-session"),
    "media_source": (
        "download the media yourself, then V3Client.upload(stream, metadata) (TUS)",
        "MIGRATION.md#2-create-a-session-with-media_source",
    ),
    "upload": ("V3Client.upload(file, metadata) (a TUS upload to /api/v3/files/)", "MIGRATION.md#3-upload-media-put"),
    "align": ("two V3Client.upload calls bound to the session (media, transcript)", "MIGRATION.md#4-align"),
    "get_result": ("V3Client.get_result(session_id) (the same V3 call)", "MIGRATION.md#5-get-the-result"),
    "delete": ("V3Client.delete_session(session_id) (the same V3 call)", "MIGRATION.md#6-delete"),
    "zm_create_session": ("V3Client.create_session(**fields) (callback_* become webhook_*)", _ZOOM),
    "zm_upload": ("V3Client.upload(file, metadata) (a TUS upload to /api/v3/files/)", _ZOOM),
    "zm_video_url": ("download the media yourself, then V3Client.upload(stream, metadata) (TUS)", _ZOOM),
    "zm_get_result": ("V3Client.get_result(session_id) (status done instead of done: true)", _ZOOM),
    "zm_captions": ('compat.formats.render(V3Client.get_result(session_id), "vtt")', _ZOOM),
}


def replacement_for(operation: str) -> str:
    """One sentence naming the V3 replacement of ``operation`` and its MIGRATION.md section."""
    text, anchor = REPLACEMENTS.get(operation, ("see MIGRATION.md", "MIGRATION.md"))
    return f"{text}; see {anchor}"


def api_of(operation: str) -> str:
    """The legacy API ``operation`` belongs to, as a warning names it."""
    return "Zoom Media API v1/v2" if operation.startswith("zm_") else "Scriptix Batch API V1"
