"""What makes a statement a V1-only call, in any language the pattern engine reads: two tables.

``SIGNALS`` are what a statement may send (a header, a key of its JSON body, a multipart field …), found
by a pattern or by a key name written the language's way; a name assigned a statement carries its signals
to the statements that use it. ``RULES`` turn a statement's HTTP method, the session URL it names
(:data:`~compat.staging.scan.endpoints.EndpointKind`) and its signals into an operation; the first rule
that matches decides. A new API generation is new rows here (its keys, its fields, its rules), not code.

The Python AST path (:mod:`compat.staging.scan.python_ast`) makes the same decisions from the syntax tree.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Final, Literal

from compat.staging.scan.endpoints import EndpointKind
from compat.staging.scan.model import Confidence, Operation

__all__ = ["RELEVANT", "RULES", "SIGNALS", "Rule", "Signal", "UrlKind"]

UrlKind = Literal["collection", "item", "align", "unknown", "any"]
"""The session URL a rule asks for: one the statement names, ``unknown`` (it names none), or ``any``."""


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
    ``sends`` (and whose text matches ``body``, when given) makes ``operation`` (``None``: no V1-only call).
    """

    operation: Operation | None
    confidence: Confidence
    via: frozenset[str]
    url: UrlKind
    sends: frozenset[str] = frozenset()
    body: str = ""

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


_ALIGN_FIELDS: Final = ("media_file", "transcript_file")

SIGNALS: tuple[Signal, ...] = (
    Signal("x_filename", pattern=r"(?i)x-filename"),
    # an audio/video type: no rule reads it; it makes a name that holds one carried
    Signal("av_type", pattern=r"""(?i)content-?type\W{0,8}(?:audio|video)/|["'`](?:audio|video)/[\w.+*-]*["'`]"""),
    Signal("media_source", keys=("media_source",), stray="media_source"),
    Signal("multipart", words=_ALIGN_FIELDS, multipart=True),
    Signal("media_file", words=_ALIGN_FIELDS),
)

_PUT, _POST = frozenset({"PUT"}), frozenset({"POST"})
_SENDS = frozenset({"POST", "multipart"})

RULES: tuple[Rule, ...] = (
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

RELEVANT: tuple[str, ...] = ("speech-to-text/session", "x-filename", "media_source", "/align")
"""A file that contains none of these (in any case) cannot hold a finding, so it is not analysed."""
