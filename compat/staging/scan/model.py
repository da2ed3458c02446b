"""What the scan reports: the legacy operations, how sure it is, their V3 replacements, findings and hits.

Two generations of legacy calls: Batch V1 (``upload``, ``media_source``, ``align``, ``create_session``) and
the older Zoom Media API v1/v2 (the ``zm_*`` operations of :data:`ZOOM_MEDIA_OPERATIONS`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

__all__ = ["RANK", "REPLACEMENTS", "ZOOM_MEDIA_OPERATIONS", "Confidence", "Finding", "Hit", "Operation", "ScanReport"]

Operation = Literal[
    "upload",
    "media_source",
    "align",
    "create_session",
    "zm_create_session",
    "zm_upload",
    "zm_video_url",
    "zm_get_result",
    "zm_captions",
]
ZOOM_MEDIA_OPERATIONS: tuple[Operation, ...] = (
    "zm_create_session",
    "zm_upload",
    "zm_video_url",
    "zm_get_result",
    "zm_captions",
)
"""The Zoom Media API v1/v2 calls (``api.zoommedia.ai``, ``/api/v1|v2/speech-to-text/session…``): create a
session, upload (multipart ``upload``), upload by ``video_url``, poll status and result, captions by ``Accept``."""
_ZOOM = "see MIGRATION.md#the-zoom-media-api-v1v2-generation"
Confidence = Literal["high", "medium", "low"]

REPLACEMENTS: dict[str, str] = {
    "upload": (
        "Replace the PUT with a TUS upload to /api/v3/files/ with metadata session_id=<session id> "
        "(plus language, filename, filetype, document_type); in Python: compat.V3Client.upload(file, metadata); "
        "see MIGRATION.md#3-upload-media-put"
    ),
    "media_source": (
        "Drop media_source from the create call and send the media yourself as a TUS upload to /api/v3/files/ "
        "with metadata session_id=<session id>; in Python: download it and compat.V3Client.upload(stream, metadata); "
        "see MIGRATION.md#2-create-a-session-with-media_source"
    ),
    "align": (
        "Replace the multipart /align call with two TUS uploads to /api/v3/files/ bound to the session "
        "(metadata session_id=<session id>): the media, then the transcript as text/plain; "
        "in Python: two compat.V3Client.upload(...) calls; see MIGRATION.md#4-align"
    ),
    "create_session": (
        "This call is still valid in V3 (only its media handling changes: send the media as a TUS upload to "
        "/api/v3/files/ with metadata session_id=<session id> instead of a PUT or media_source); "
        "in Python: compat.V3Client.create_session(**fields); see MIGRATION.md#1-create-a-session"
    ),
    "zm_create_session": (
        "Create the session on V3 instead: POST /api/v3/speech-to-text/session with x-zoom-s2t-key "
        '(callback_* become webhook_*; the answer is {"result": {"session_id", "status"}} instead of the flat '
        f"{{sessionId, zoom_id}}); in Python: compat.V3Client.create_session(**fields); {_ZOOM}"
    ),
    "zm_upload": (
        "Replace the multipart POST (file part upload) with a TUS upload to /api/v3/files/ with metadata "
        "session_id=<session id> (plus language, filename, filetype, document_type); "
        f"in Python: compat.V3Client.upload(file, metadata); {_ZOOM}"
    ),
    "zm_video_url": (
        "V3 does not fetch URLs: download the media yourself and send it as a TUS upload to /api/v3/files/ with "
        "metadata session_id=<session id>; in Python: download it and compat.V3Client.upload(stream, metadata); "
        f"{_ZOOM}"
    ),
    "zm_get_result": (
        'Poll GET /api/v3/speech-to-text/session/{id}/result instead: status "done" replaces done: true, the words '
        f"are in result.results with times in seconds; in Python: compat.V3Client.get_result(session_id); {_ZOOM}"
    ),
    "zm_captions": (
        "V3 answers results as JSON only: fetch the result and render the captions yourself; in Python: "
        f'compat.formats.render(compat.V3Client(...).get_result(session_id), "vtt"); {_ZOOM}'
    ),
}

RANK: dict[Confidence, int] = {"low": 0, "medium": 1, "high": 2}
"""Confidences in order: a higher rank wins when two hits are merged."""


@dataclass(frozen=True)
class Finding:
    """One legacy call: where it is, what it does, what replaces it, and how sure the scan is."""

    file: str
    """Path relative to the scanned directory (``/``-separated); the file's name when a file was scanned."""
    line: int
    """1-based line of the call (its first line when it spans several)."""
    operation: Operation
    replacement: str
    """One sentence naming the V3 replacement, with its ``MIGRATION.md`` section anchor."""
    confidence: Confidence
    language: str
    snippet: str
    """The source line, stripped, at most 200 characters."""

    def to_dict(self) -> dict[str, object]:
        """The finding as a JSON-ready ``dict`` (its fields by name)."""
        return asdict(self)


@dataclass(frozen=True)
class ScanReport:
    """What ``scan_report`` found; ``files_skipped`` counts files of a known language that were binary or too large."""

    findings: list[Finding]
    files_scanned: int
    files_skipped: int = 0

    def to_dict(self) -> dict[str, object]:
        """``{"findings": [...], "files_scanned": N}``, as ``scan --format json`` prints it."""
        return {"findings": [f.to_dict() for f in self.findings], "files_scanned": self.files_scanned}


@dataclass
class Hit:
    """A legacy call one of the analyses found: its line, operation and confidence, before findings are made."""

    line: int
    """1-based."""
    operation: Operation
    confidence: Confidence
    guessed: bool = False
    """The call named no HTTP method (taken as a ``GET``); a later statement on the same request may correct it."""

    def raise_confidence(self, confidence: Confidence) -> None:
        """Take ``confidence`` when it ranks higher than the hit's own."""
        if RANK[confidence] > RANK[self.confidence]:
            self.confidence = confidence
