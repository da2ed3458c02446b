"""What the scan reports: the V1-only operations, how sure it is, their V3 replacements, findings and hits."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

__all__ = ["RANK", "REPLACEMENTS", "Confidence", "Finding", "Hit", "Operation", "ScanReport"]

Operation = Literal["upload", "media_source", "align", "create_session"]
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
}

RANK: dict[Confidence, int] = {"low": 0, "medium": 1, "high": 2}
"""Confidences in order: a higher rank wins when two hits are merged."""


@dataclass(frozen=True)
class Finding:
    """One V1-only call: where it is, what it does, what replaces it, and how sure the scan is."""

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
    """A V1-only call one of the analyses found: its line, operation and confidence, before findings are made."""

    line: int
    """1-based."""
    operation: Operation
    confidence: Confidence

    def raise_confidence(self, confidence: Confidence) -> None:
        """Take ``confidence`` when it ranks higher than the hit's own."""
        if RANK[confidence] > RANK[self.confidence]:
            self.confidence = confidence
