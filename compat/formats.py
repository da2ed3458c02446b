"""Render a V1 result as plain text, SRT or WebVTT captions, or JSON.

Word tuples are ``[word, time_start, time_end, confidence]`` with times in seconds (the unit of the
V1 result example). Cues follow the segments, split so that none is longer than ``max_cue_seconds``
or ``max_cue_words``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Literal

__all__ = ["FORMATS", "Cue", "cues", "render"]

Format = Literal["json", "txt", "srt", "vtt"]
FORMATS: tuple[Format, ...] = ("json", "txt", "srt", "vtt")


class Cue:
    """One caption: start and end in seconds, and its text."""

    __slots__ = ("end", "start", "text")

    def __init__(self, start: float, end: float, text: str) -> None:
        self.start, self.end, self.text = start, end, text

    def __repr__(self) -> str:
        return f"Cue({self.start!r}, {self.end!r}, {self.text!r})"


def _segments(result: dict[str, Any]) -> list[dict[str, Any]]:
    inner = result.get("result", result)
    segments = inner.get("results") if isinstance(inner, dict) else None
    return [s for s in segments or [] if isinstance(s, dict)]


def cues(result: dict[str, Any], *, max_cue_seconds: float = 7.0, max_cue_words: int = 12) -> Iterator[Cue]:
    """The caption cues of a V1 result (the whole JSON or its ``result`` object)."""
    for segment in _segments(result):
        words = [w for w in segment.get("result") or [] if isinstance(w, list | tuple) and len(w) >= 3]
        current: list[Any] = []
        for word in words:
            if current and (len(current) >= max_cue_words or float(word[2]) - float(current[0][1]) > max_cue_seconds):
                yield Cue(float(current[0][1]), float(current[-1][2]), " ".join(str(w[0]) for w in current))
                current = []
            current.append(word)
        if current:
            yield Cue(float(current[0][1]), float(current[-1][2]), " ".join(str(w[0]) for w in current))


def _timestamp(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def render(result: dict[str, Any], fmt: Format) -> str:
    """``result`` (V1 JSON) as ``json``, ``txt``, ``srt`` or ``vtt`` text."""
    if fmt == "json":
        return json.dumps(result, indent=2, ensure_ascii=False) + "\n"
    if fmt == "txt":
        lines = []
        for segment in _segments(result):
            text = segment.get("text")
            if not text:
                text = " ".join(str(w[0]) for w in segment.get("result") or [])
            if text:
                lines.append(str(text))
        return "\n".join(lines) + ("\n" if lines else "")
    if fmt == "srt":
        blocks = [
            f"{index}\n{_timestamp(cue.start, ',')} --> {_timestamp(cue.end, ',')}\n{cue.text}\n"
            for index, cue in enumerate(cues(result), start=1)
        ]
        return "\n".join(blocks)
    if fmt == "vtt":
        blocks = [f"{_timestamp(c.start, '.')} --> {_timestamp(c.end, '.')}\n{c.text}\n" for c in cues(result)]
        return "WEBVTT\n\n" + "\n".join(blocks)
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
