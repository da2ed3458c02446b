"""Content negotiation for legacy result reads: which of JSON, WebVTT or SRT an ``Accept`` header asks for.

The Zoom Media API answered ``GET …/speech-to-text/session/{id}`` with its JSON, or with the captions
themselves when the caller sent ``Accept: text/vtt``. :func:`negotiate` reads an ``Accept`` header
the way RFC 9110 §12.5.1 describes it:

* each media range may carry a ``q`` weight (``0`` to ``1``, default ``1``; ``q=0`` means "not this");
* a type takes the weight of the most specific range that matches it (``text/vtt`` over ``text/*``
  over ``*/*``); other parameters (``charset=…``) are ignored;
* among the types with the highest weight the server's order decides: JSON, then WebVTT, then SRT
  (so ``*/*`` is JSON and ``text/*`` is WebVTT);
* no header, an empty one, or one without a single well-formed range means "anything": JSON.

The types served are ``application/json``, ``text/vtt``, and ``text/srt`` / ``application/x-subrip``
(both SRT). When none is acceptable :func:`negotiate` returns ``None``: answer 406.

Scriptix's ``api/v2`` also took the wanted type as a ``format`` query parameter ("works the same as
the Accept header; when both are set the query parameter gets preference"): pass it as
``format_param`` and it is read in place of the header (a value that is no media type: ``None``).

Pure functions, no I/O; the emulator and the shim's Zoom Media front door both use them.
"""

from __future__ import annotations

import re
from typing import Literal, NamedTuple

__all__ = ["CONTENT_TYPES", "OFFERS", "Negotiated", "NegotiatedFormat", "negotiate", "parse_accept"]

NegotiatedFormat = Literal["json", "vtt", "srt"]

OFFERS: tuple[tuple[str, NegotiatedFormat], ...] = (
    ("application/json", "json"),
    ("text/vtt", "vtt"),
    ("text/srt", "srt"),
    ("application/x-subrip", "srt"),
)
"""The media types served, in the server's order of preference, with the format each one is."""

CONTENT_TYPES: dict[str, str] = {
    "application/json": "application/json",
    "text/vtt": "text/vtt; charset=utf-8",
    "text/srt": "text/srt; charset=utf-8",
    "application/x-subrip": "application/x-subrip; charset=utf-8",
}
"""The ``Content-Type`` header to answer for each media type of :data:`OFFERS`."""

_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_QVALUE = re.compile(r"^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$")
_MAX_RANGES = 64  # a longer header is read up to this many ranges


class Negotiated(NamedTuple):
    """The outcome: the format to render and the media type chosen (its ``Content-Type``: :data:`CONTENT_TYPES`)."""

    format: NegotiatedFormat
    media_type: str


def parse_accept(header: str) -> list[tuple[str, str, float]]:
    """The well-formed media ranges of an ``Accept`` value as ``(type, subtype, q)``, lower case.

    A malformed range (no ``/``, a bad token, ``*/json``) is left out; a ``q`` that is not a number
    from 0 to 1 with at most three decimals is read as the default, 1 (the type itself is clear).
    """
    ranges: list[tuple[str, str, float]] = []
    for element in header.split(",")[:_MAX_RANGES]:
        media, *params = (part.strip() for part in element.split(";"))
        kind, slash, subtype = media.lower().partition("/")
        if not slash or not _TOKEN.fullmatch(kind) or not _TOKEN.fullmatch(subtype) or (kind == "*" != subtype):
            continue
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                value = value.strip()
                weight = float(value) if _QVALUE.fullmatch(value) else 1.0
                break
        ranges.append((kind, subtype, weight))
    return ranges


def _weight(media_type: str, ranges: list[tuple[str, str, float]]) -> float:
    """The weight of ``media_type``: that of the most specific matching range (0 when none matches)."""
    kind, _, subtype = media_type.partition("/")
    best_specificity, weight = -1, 0.0
    for range_kind, range_subtype, q in ranges:
        if (range_kind, range_subtype) == (kind, subtype):
            specificity = 2
        elif range_kind == kind and range_subtype == "*":
            specificity = 1
        elif range_kind == "*":
            specificity = 0
        else:
            continue
        if specificity > best_specificity:
            best_specificity, weight = specificity, q
        elif specificity == best_specificity:
            weight = max(weight, q)
    return weight


def negotiate(accept: str | None, format_param: str | None = None) -> Negotiated | None:
    """What to answer for this ``Accept`` header (or ``format`` query parameter): ``None`` means 406.

    >>> negotiate("text/vtt")
    Negotiated(format='vtt', media_type='text/vtt')
    >>> negotiate(None).format, negotiate("text/*").format, negotiate("image/png")
    ('json', 'vtt', None)
    """
    if format_param is not None and format_param.strip():
        ranges = parse_accept(format_param)
        if not ranges:
            return None  # a format that names no media type is not one we can serve
    else:
        ranges = parse_accept(accept) if accept is not None and accept.strip() else []
        if not ranges:
            return Negotiated("json", "application/json")
    best: Negotiated | None = None
    best_weight = 0.0
    for media_type, fmt in OFFERS:
        weight = _weight(media_type, ranges)
        if weight > best_weight:
            best, best_weight = Negotiated(fmt, media_type), weight
    return best
