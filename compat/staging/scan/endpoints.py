"""Which V1 endpoint a piece of source text points at: the session collection, one session, its ``/align``."""

from __future__ import annotations

import re
from typing import Literal

__all__ = ["KIND_PATHS", "PLACEHOLDER", "SESSION", "EndpointKind", "classify_rest", "kinds_in"]

EndpointKind = Literal["collection", "item", "align", "other"]
"""``…/session``, ``…/session/{id}``, ``…/session/{id}/align``, or anything else below ``…/session``."""

SESSION = re.compile(r"speech-to-text/session(?![\w-])", re.I)
PLACEHOLDER = re.compile(r"\$\{[^}]*\}|#\{[^}]*\}|\{[^}]*\}")
_CONCAT = re.compile(r"""\s*(?:\+|<<|\s\.\s|(?<=["'`])\.|\.(?=["'`$]))\s*""")
_QUOTES = re.compile(r"""["'`]""")
_CUT = re.compile(r"""[\s,;()\[\]{}<>\\]""")

KIND_PATHS: dict[EndpointKind, str] = {"collection": "", "item": "/ID", "align": "/ID/align", "other": "/ID/other"}
"""What the rest of a URL looks like after ``speech-to-text/session`` for a name holding that kind."""


def classify_rest(rest: str) -> EndpointKind:
    """The endpoint kind of ``…speech-to-text/session`` followed by ``rest`` (source text, maybe concatenated)."""
    text = PLACEHOLDER.sub("ID", rest[:240])
    text = _CONCAT.sub("", text)
    text = _QUOTES.sub("", text)
    text = _CUT.split(text, maxsplit=1)[0]
    path = re.split(r"[?#]", text, maxsplit=1)[0]
    segments = [s for s in path.split("/") if s]
    if not segments:
        return "collection"
    if len(segments) == 1:
        return "item"
    if len(segments) == 2 and segments[1].lower() == "align":
        return "align"
    return "other"


def kinds_in(text: str) -> set[EndpointKind]:
    """The kinds of every ``speech-to-text/session`` URL in ``text``."""
    return {classify_rest(text[m.end() :]) for m in SESSION.finditer(text)}
