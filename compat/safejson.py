"""JSON from callers, parsed with a bound on its nesting.

``json.loads`` recurses once per level of nesting, in C, against Python's recursion limit: a body of
1,000 ``[`` (a few KB, far inside any size cap) raises :class:`RecursionError` instead of
:class:`ValueError`, and with a raised recursion limit it can overflow the C stack. :func:`loads`
measures the nesting first, in linear time and without recursion, and refuses a document nested
deeper than ``max_depth`` with :class:`JSONDepthError` (a :class:`ValueError`) before it is parsed.
It also refuses what RFC 8259 does not call JSON but ``json.loads`` accepts: ``NaN``, ``Infinity``
and numbers too large for a float (``1e999``), which no JSON encoder could send on again.
Everything here is the standard library: the emulator and the V1 layer both use it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from itertools import accumulate
from typing import Any

__all__ = ["MAX_DEPTH", "JSONDepthError", "loads", "nesting"]

MAX_DEPTH = 64
"""Levels of arrays and objects a caller's JSON may nest (a V1 create body needs 3)."""

_ESCAPE = re.compile(r"\\.", re.DOTALL)
_STRING = re.compile(r'"[^"]*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class JSONDepthError(ValueError):
    """A JSON document nested deeper than allowed."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"JSON nested more than {limit} levels deep")
        self.limit = limit


def nesting(text: str) -> int:
    """How deep the arrays and objects of ``text`` nest (brackets inside strings do not count).

    Exact for valid JSON. For invalid JSON it is at least the depth a parser reaches before it
    finds the error, so a document that passes the check cannot take a parser deeper.
    """
    return max(_depths(text))


def _depths(text: str) -> Iterator[int]:
    """The depth after each bracket outside strings, from 0."""
    # Escapes go first (so no quote inside a string is left escaped), then whole strings, then all
    # that is not a bracket: three linear passes in C, and no pattern here can backtrack.
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", _ESCAPE.sub("", text)))
    return accumulate(map(_STEP.__getitem__, brackets), initial=0)


def loads(raw: bytes | bytearray | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads(raw)``, refusing a document nested deeper than ``max_depth`` before parsing it.

    Bytes are decoded as ``json.loads`` decodes them (UTF-8, or UTF-16/32 by their first bytes).
    Raises :class:`JSONDepthError` for too deep a document and :class:`ValueError` (including
    :class:`UnicodeDecodeError`) for anything that is not JSON, ``NaN`` and infinite numbers
    included; never :class:`RecursionError`.
    """
    if not isinstance(raw, str):
        raw = bytes(raw)
        raw = raw.decode(json.detect_encoding(raw), "surrogatepass")
    # Cheap first: only a document with that many brackets can be too deep; then stop at the first too deep.
    if raw.count("[") + raw.count("{") > max_depth and any(depth > max_depth for depth in _depths(raw)):
        raise JSONDepthError(max_depth)
    return json.loads(raw, parse_constant=_no_constant, parse_float=_finite)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is too large for a JSON number")
    return value
