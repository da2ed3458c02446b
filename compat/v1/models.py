"""The V1 JSON, as the legacy docs show it (``shared/seeds``): request bodies, envelopes, errors."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CreateDocument",
    "CreateSessionRequest",
    "V1Envelope",
    "V1Error",
    "V1Segment",
    "V1SessionResult",
    "envelope",
]


class CreateDocument(BaseModel):
    """The V1 ``document`` object (CreateDocument): caption layout and webhook settings."""

    model_config = ConfigDict(extra="allow")

    document_type: Literal["caption", "document"] | None = None
    filename: str | None = Field(default=None, max_length=200)
    max_line_length: int | None = Field(default=None, ge=1, le=200)
    max_line_words: int | None = Field(default=None, ge=1, le=100)
    max_segment_duration: int | None = Field(default=None, ge=1, le=200000)
    max_segment_lines: int | None = None
    max_segment_words: int | None = None
    max_silence_between_words: int | None = None
    min_segment_gap: int | None = None
    webhook_url: str | None = None
    webhook_method: Literal["POST", "PUT"] | None = None
    webhook_headers: list[str] | None = None


class CreateSessionRequest(BaseModel):
    """The body of V1 ``POST /api/v3/speech-to-text/session``, after validation."""

    model_config = ConfigDict(extra="allow")

    language: str
    webhook_url: str | None = None
    webhook_method: Literal["POST", "PUT"] | None = None
    webhook_headers: list[str] | None = None
    keep_source: bool = False
    media_source: str | None = None
    punctuation: bool = False
    multichannel: bool = False
    document: dict[str, Any] | None = None
    meta_data: dict[str, str] | None = None

    def upstream_body(self) -> dict[str, Any]:
        """What is sent to the V3 session creation: everything the caller set but ``media_source``."""
        return self.model_dump(exclude={"media_source"}, exclude_unset=True, exclude_none=True)


class V1SessionResult(BaseModel):
    """The ``result`` object of a V1 envelope."""

    model_config = ConfigDict(extra="allow")

    duration: float | int = 0
    error: str | None = None
    filename: str | None = None
    media_type: str | None = None
    media_url: str | None = None
    session_id: str
    status: str


class V1Segment(BaseModel):
    """One entry of ``results``: word tuples ``[word, time_start, time_end, confidence]``."""

    model_config = ConfigDict(extra="allow")

    result: list[list[Any]] = Field(default_factory=list)
    speaker: str | None = None
    text: str | None = None
    sconf: int | float | None = None
    channel: int | None = None


class V1Envelope(BaseModel):
    """``{"count": 1, "total_results": 1, "result": {...}}``, the shape of every V1 answer."""

    model_config = ConfigDict(extra="allow")

    count: int = 1
    total_results: int = 1
    result: V1SessionResult


class V1Error(BaseModel):
    """The V1 error body: ``{"error": "<what went wrong>"}``."""

    error: str


def envelope(result: dict[str, Any]) -> dict[str, Any]:
    """Wrap a V1 result in the V1 envelope, with the fields in the seed's order first."""
    ordered = {key: result.get(key) for key in V1SessionResult.model_fields}
    ordered["duration"] = result.get("duration") or 0
    ordered.update({k: v for k, v in result.items() if k not in ordered})
    return {"count": 1, "total_results": 1, "result": ordered}
