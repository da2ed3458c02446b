"""Typed V3 answers. Every model keeps fields it does not know (``extra="allow"``), so a new field
on the server side never breaks a caller, and ``model_dump()`` gives back what the server sent."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "FileInfo",
    "Segment",
    "Session",
    "SessionSummary",
    "Transcript",
    "TusCapabilities",
    "UploadResult",
]


def unwrap(body: Any) -> Any:
    """The object inside Scriptix's ``{"count", "total_results", "result": {...}}`` envelope."""
    if isinstance(body, dict) and isinstance(body.get("result"), dict):
        return body["result"]
    return body


class V3Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class SessionSummary(V3Model):
    """What creating a session answers: its id and first status."""

    session_id: str
    status: str | None = None


class Session(V3Model):
    """A session's state (``GET /api/v3/speech-to-text/session/{id}``)."""

    session_id: str
    status: str | None = None
    filename: str | None = None
    duration: int | float | None = None
    language: str | None = None
    media_type: str | None = None
    media_url: str | None = None
    error: str | None = None


class Segment(V3Model):
    """One segment of a transcript; ``result`` holds ``[word, start, end, confidence]`` tuples."""

    result: list[list[Any]] = Field(default_factory=list)
    speaker: str | None = None
    text: str | None = None
    sconf: int | float | None = None
    channel: int | None = None


class Transcript(V3Model):
    """A session's result (``GET /api/v3/speech-to-text/session/{id}/result``)."""

    session_id: str | None = None
    status: str | None = None
    duration: int | float | None = None
    error: str | None = None
    filename: str | None = None
    media_type: str | None = None
    media_url: str | None = None
    results: list[Segment] | None = None


class FileInfo(V3Model):
    """What the server knows of a TUS upload (``GET /api/v3/files/{id}``)."""

    session_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class UploadResult(V3Model):
    """A finished upload: where it lives, the session it feeds, and whether it was resumed."""

    upload_url: str
    session_id: str | None = None
    size: int
    resumed_from: int | None = None
    metadata: dict[str, str] = Field(default_factory=dict)


class TusCapabilities(V3Model):
    """What the TUS server advertises on ``OPTIONS``."""

    versions: list[str] = Field(default_factory=list)
    extensions: list[str] = Field(default_factory=list)
    max_size: int | None = None
