"""What makes a statement a legacy call, in any language the pattern engine reads: three tables.

``SIGNALS`` are what a statement may send (a header, a key of its JSON body, a multipart field …), found
by a pattern or by a key name written the language's way; a name assigned a statement carries its signals
to the statements that use it. ``FILE_SIGNALS`` are found in a whole file and count for each of its calls
(a file that names the Zoom Media host and no V3 path speaks Zoom Media even where a call's base URL is a
variable). ``RULES`` turn a statement's HTTP method (``GET`` when it names none), the session URL it names
(:data:`~compat.staging.scan.endpoints.EndpointKind`) and its signals into an operation; the first rule
that matches decides. A new API generation is new rows here (its keys, its fields, its rules), not code:
the Zoom Media API v1/v2 is the second generation, its rows marked ``generation="zoommedia"``.

The Python AST path (:mod:`compat.staging.scan.python_ast`) decides Batch V1 calls from the syntax tree
and every other generation's calls from these rules, with the signals read from the tree.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Final, Literal

from compat.staging.scan.endpoints import EndpointKind
from compat.staging.scan.model import Confidence, Operation

__all__ = [
    "FILE_SIGNALS",
    "REFINEMENTS",
    "RELEVANT",
    "RULES",
    "SIGNALS",
    "FileSignal",
    "Generation",
    "Rule",
    "Signal",
    "UrlKind",
]

UrlKind = Literal["collection", "item", "align", "unknown", "any"]
"""The session URL a rule asks for: one the statement names, ``unknown`` (it names none), or ``any``."""
Generation = Literal["batch_v1", "zoommedia"]
"""The API generation a rule's operation belongs to."""


@dataclass(frozen=True)
class Signal:
    """Something a statement sends: where ``pattern`` matches, or ``keys`` are written as keys, or (with
    ``multipart``) the language builds a multipart body; ``words`` are field names, found as whole words.
    """

    name: str
    pattern: str = ""
    """A regular expression, the same in every language (flags inline, e.g. ``(?i)``)."""
    keys: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    multipart: bool = False
    stray: Operation | None = None
    """In a file that names a session URL, a key that no call found sends is a ``medium`` hit of this operation
    (unless its value is a plain label); a hit of this operation uses up the keys its statement sends."""


@dataclass(frozen=True)
class Rule:
    """A statement that names one of ``via`` (HTTP methods or signals), a URL of ``url`` and every signal of
    ``sends`` (and whose text matches ``body``, when given) makes ``operation`` (``None``: no legacy call).
    """

    operation: Operation | None
    confidence: Confidence
    via: frozenset[str]
    url: UrlKind
    sends: frozenset[str] = frozenset()
    body: str = ""
    generation: Generation = "batch_v1"

    @functools.cached_property
    def body_pattern(self) -> re.Pattern[str] | None:
        """:attr:`body`, compiled."""
        return re.compile(self.body) if self.body else None

    def matches(self, kinds: set[EndpointKind], signals: set[str], text: str) -> bool:
        """Whether a statement (``text``) with these URL ``kinds`` and ``signals`` (its methods too) is this call."""
        if not self.via & signals or not self.sends <= signals:
            return False
        if self.url == "unknown":
            if kinds:
                return False
        elif self.url != "any" and self.url not in kinds:
            return False
        return self.body_pattern is None or self.body_pattern.search(text) is not None


@dataclass(frozen=True)
class FileSignal:
    """A signal of a whole file: present when ``pattern`` matches the file's text and ``unless`` does not."""

    name: str
    pattern: str
    unless: str = ""

    def found_in(self, text: str) -> bool:
        """Whether ``text`` (a whole file) has this signal."""
        if not re.search(self.pattern, text):
            return False
        return not (self.unless and re.search(self.unless, text))


_ALIGN_FIELDS: Final = ("media_file", "transcript_file")

ZOOM_MEDIA: Final = r"""(?i)api\.zoommedia\.ai|/api/v[12](?=[/"'`\s)]|$)|x-zoom-s2t-token"""
"""The Zoom Media API: its host, its ``/api/v1|v2`` paths (Scriptix's ``api/v2`` too), its ``X-Zoom-S2T-Token``."""

SIGNALS: tuple[Signal, ...] = (
    Signal("x_filename", pattern=r"(?i)x-filename"),
    # an audio/video type: no rule reads it; it makes a name that holds one carried
    Signal("av_type", pattern=r"""(?i)content-?type\W{0,8}(?:audio|video)/|["'`](?:audio|video)/[\w.+*-]*["'`]"""),
    Signal("media_source", keys=("media_source",), stray="media_source"),
    Signal("multipart", words=_ALIGN_FIELDS, multipart=True),
    Signal("media_file", words=_ALIGN_FIELDS),
    # the Zoom Media API v1/v2
    Signal("zm_api", pattern=ZOOM_MEDIA),
    Signal("video_url", keys=("video_url",)),
    Signal("captions", pattern=r"(?i)text/vtt|text/srt|application/x-subrip"),
)

FILE_SIGNALS: tuple[FileSignal, ...] = (
    # a file that names the Zoom Media API and no V3 path: its session URLs are Zoom Media ones
    FileSignal("zm_file", pattern=ZOOM_MEDIA, unless=r"(?i)/api/v3(?![\w.])"),
)

_PUT, _POST, _GET = frozenset({"PUT"}), frozenset({"POST"}), frozenset({"GET"})
_SENDS = frozenset({"POST", "multipart"})
_ZM: Final[Generation] = "zoommedia"

RULES: tuple[Rule, ...] = (
    # Zoom Media API v1/v2. A POST to a session is its upload (Batch V1 never POSTs there); a GET of a
    # session is its status, result or captions (only where the call or its file names Zoom Media).
    Rule("zm_create_session", "high", _POST, "collection", frozenset({"zm_api"}), generation=_ZM),
    Rule("zm_video_url", "high", _POST, "item", frozenset({"zm_api", "video_url"}), generation=_ZM),
    Rule("zm_upload", "high", _POST, "item", frozenset({"zm_api"}), generation=_ZM),
    Rule("zm_create_session", "medium", _POST, "collection", frozenset({"zm_file"}), generation=_ZM),
    Rule("zm_video_url", "medium", _POST, "item", frozenset({"video_url"}), generation=_ZM),
    Rule("zm_upload", "medium", _POST, "item", frozenset({"multipart"}), generation=_ZM),
    Rule("zm_upload", "medium", _POST, "item", frozenset({"zm_file"}), generation=_ZM),
    Rule("zm_captions", "high", _GET, "item", frozenset({"zm_api", "captions"}), generation=_ZM),
    Rule("zm_get_result", "high", _GET, "item", frozenset({"zm_api"}), generation=_ZM),
    Rule("zm_captions", "medium", _GET, "item", frozenset({"captions"}), generation=_ZM),
    Rule("zm_get_result", "medium", _GET, "item", frozenset({"zm_file"}), generation=_ZM),
    # Batch V1
    Rule("upload", "high", _PUT, "item"),
    Rule("upload", "medium", _PUT, "unknown", frozenset({"x_filename"})),
    Rule(None, "low", _PUT, "any"),  # no other PUT is a V1-only call, whatever else it names
    Rule("align", "high", _SENDS, "align", frozenset({"multipart"})),
    Rule("align", "medium", _SENDS, "align"),
    Rule("align", "medium", _SENDS, "unknown", frozenset({"media_file"}), body=r"""(?m)/align/?(?=["'`?\s)]|$)"""),
    Rule("media_source", "high", _POST, "collection", frozenset({"media_source"})),
    Rule("create_session", "low", _POST, "collection"),
    Rule("media_source", "medium", _POST, "unknown", frozenset({"media_source"})),
)

REFINEMENTS: dict[Operation, Operation] = {
    "media_source": "create_session",  # a create call whose body turns out to hold media_source
    "zm_video_url": "zm_upload",  # a Zoom Media upload whose body turns out to be {"video_url": …}
    "zm_captions": "zm_get_result",  # a Zoom Media read that turns out to ask for text/vtt
}
"""On one request object built over several statements, a later hit of a key replaces an earlier hit of
its value (and a hit of the value after one of the key adds nothing)."""

RELEVANT: tuple[str, ...] = ("speech-to-text/session", "x-filename", "media_source", "/align", "zoommedia.ai")
"""A file that contains none of these (in any case) cannot hold a finding, so it is not analysed."""
