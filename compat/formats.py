"""Render a legacy result as plain text, SRT or WebVTT captions, or JSON; convert its word times.

Word tuples are ``[word, time_start, time_end, confidence]``. Their unit is the ``time_unit``:
``"s"`` (seconds, the unit of the Batch V1 result example and of V3) or ``"ms"`` (milliseconds, the
unit the Zoom Media API v1/v2 clients read: the vendor's ``pyzoomapi`` converts "from ms", and so
does a public result-to-WebVTT converter). Both the V1 envelope ``{"result": {"results": [...]}}``
and the flat Zoom Media answer ``{"done": true, "results": [...]}`` are read.

Cues follow the segments, split so that none is longer than ``max_cue_seconds`` or
``max_cue_words``. :func:`convert_times` turns a result's word times from one unit into the other
(seconds -> whole milliseconds; milliseconds -> seconds), leaving its argument untouched.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any, Literal

__all__ = [
    "FORMATS",
    "TIME_UNITS",
    "Cue",
    "Format",
    "TimeUnit",
    "check_time_unit",
    "convert_segments",
    "convert_time",
    "convert_times",
    "cues",
    "render",
]

Format = Literal["json", "txt", "srt", "vtt"]
FORMATS: tuple[Format, ...] = ("json", "txt", "srt", "vtt")

TimeUnit = Literal["s", "ms"]
"""The unit of word times: ``"s"`` (seconds) or ``"ms"`` (milliseconds)."""
TIME_UNITS: tuple[TimeUnit, ...] = ("s", "ms")
_PER_SECOND: dict[str, int] = {"s": 1, "ms": 1000}


def check_time_unit(value: object) -> TimeUnit:
    """``value`` when it is ``"s"`` or ``"ms"``; else ``ValueError`` naming the choices."""
    if value == "s" or value == "ms":
        return value
    raise ValueError(f"time_unit must be 's' or 'ms', not {value!r}")


class Cue:
    """One caption: start and end in seconds, and its text."""

    __slots__ = ("end", "start", "text")

    def __init__(self, start: float, end: float, text: str) -> None:
        self.start, self.end, self.text = start, end, text

    def __repr__(self) -> str:
        return f"Cue({self.start!r}, {self.end!r}, {self.text!r})"


def _is_time(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _segments(result: dict[str, Any]) -> list[dict[str, Any]]:
    inner = result.get("result", result)
    segments = inner.get("results") if isinstance(inner, dict) else None
    return [s for s in segments or [] if isinstance(s, dict)] if isinstance(segments, list) else []


def _words(segment: dict[str, Any]) -> list[list[Any] | tuple[Any, ...]]:
    words = segment.get("result")
    if not isinstance(words, list):
        return []
    return [w for w in words if isinstance(w, list | tuple) and len(w) >= 3 and _is_time(w[1]) and _is_time(w[2])]


def cues(
    result: dict[str, Any], *, max_cue_seconds: float = 7.0, max_cue_words: int = 12, time_unit: TimeUnit = "s"
) -> Iterator[Cue]:
    """The caption cues of a result (the whole JSON or its ``result`` object), times in seconds.

    ``time_unit`` is the unit of the result's word times.
    """
    scale = _PER_SECOND[check_time_unit(time_unit)]

    def cue(words: list[Any]) -> Cue:
        return Cue(float(words[0][1]) / scale, float(words[-1][2]) / scale, " ".join(str(w[0]) for w in words))

    for segment in _segments(result):
        current: list[Any] = []
        for word in _words(segment):
            too_long = (float(word[2]) - float(current[0][1])) / scale > max_cue_seconds if current else False
            if current and (len(current) >= max_cue_words or too_long):
                yield cue(current)
                current = []
            current.append(word)
        if current:
            yield cue(current)


def _timestamp(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def render(result: dict[str, Any], fmt: Format, *, time_unit: TimeUnit = "s") -> str:
    """``result`` as ``json``, ``txt``, ``srt`` or ``vtt`` text; ``time_unit``: the unit of its word times."""
    check_time_unit(time_unit)
    if fmt == "json":
        return json.dumps(result, indent=2, ensure_ascii=False) + "\n"
    if fmt == "txt":
        lines = []
        for segment in _segments(result):
            text = segment.get("text")
            if not text:
                text = " ".join(str(w[0]) for w in _words(segment))
            if text:
                lines.append(str(text))
        return "\n".join(lines) + ("\n" if lines else "")
    if fmt == "srt":
        blocks = [
            f"{index}\n{_timestamp(cue.start, ',')} --> {_timestamp(cue.end, ',')}\n{cue.text}\n"
            for index, cue in enumerate(cues(result, time_unit=time_unit), start=1)
        ]
        return "\n".join(blocks)
    if fmt == "vtt":
        blocks = [
            f"{_timestamp(c.start, '.')} --> {_timestamp(c.end, '.')}\n{c.text}\n"
            for c in cues(result, time_unit=time_unit)
        ]
        return "WEBVTT\n\n" + "\n".join(blocks)
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def convert_time(value: Any, from_unit: TimeUnit, to_unit: TimeUnit) -> Any:
    """One time in ``to_unit``: seconds -> whole milliseconds (``int``); milliseconds -> seconds (``float``).

    A value that is not a number (``None``, a string, a bool) is returned as it is.
    """
    check_time_unit(from_unit)
    check_time_unit(to_unit)
    if from_unit == to_unit or not _is_time(value):
        return value
    if to_unit == "ms":
        return round(value * 1000)
    return value / 1000


def _convert_in_place(segments: list[Any], from_unit: TimeUnit, to_unit: TimeUnit) -> None:
    for segment in segments:
        if not isinstance(segment, dict) or not isinstance(segment.get("result"), list):
            continue
        words = segment["result"]
        for index, word in enumerate(words):
            if isinstance(word, list | tuple) and len(word) >= 3:
                fixed = list(word)
                fixed[1] = convert_time(word[1], from_unit, to_unit)
                fixed[2] = convert_time(word[2], from_unit, to_unit)
                words[index] = fixed if isinstance(word, list) else tuple(fixed)


def convert_segments(segments: list[Any], from_unit: TimeUnit, to_unit: TimeUnit) -> list[Any]:
    """A copy of a ``results`` list with every word's start and end in ``to_unit`` (the argument is untouched)."""
    check_time_unit(from_unit)
    check_time_unit(to_unit)
    converted = copy.deepcopy(segments)
    if from_unit != to_unit:
        _convert_in_place(converted, from_unit, to_unit)
    return converted


def convert_times(result: dict[str, Any], from_unit: TimeUnit, to_unit: TimeUnit) -> dict[str, Any]:
    """A copy of ``result`` (a V1 envelope, its ``result`` object or a flat Zoom Media answer) whose word
    times are in ``to_unit``; nothing else changes, and ``result`` itself is untouched.

    The shim calls it on V3 results (seconds) to answer ``time_unit="ms"``.
    """
    check_time_unit(from_unit)
    check_time_unit(to_unit)
    converted = copy.deepcopy(result)
    inner = converted.get("result", converted)
    if from_unit != to_unit and isinstance(inner, dict) and isinstance(inner.get("results"), list):
        _convert_in_place(inner["results"], from_unit, to_unit)
    return converted
