"""compat.safejson: a caller's JSON parsed with a bound on its nesting, never a RecursionError."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

import pytest

from compat.safejson import MAX_DEPTH, JSONDepthError, loads, nesting

NESTING = [
    ("1", 0),
    ('"[[[{{{"', 0),  # brackets inside a string do not count
    ('["\\"[[[", [1]]', 2),  # nor after an escaped quote
    ('["\\\\", [[1]]]', 3),  # an escaped backslash ends before the quote
    ('{"a": {"b": [1, {"c": []}]}}', 5),
    ("[" * 300 + "]" * 300, 300),
    ("[" * 300, 300),  # unclosed: as deep as a parser would go
    ("]]]][[", 0),
]


@pytest.mark.parametrize(("text", "depth"), NESTING)
def test_nesting_counts_arrays_and_objects_outside_strings(text: str, depth: int) -> None:
    assert nesting(text) == depth


@pytest.fixture
def low_recursion_limit() -> Iterator[None]:
    """A stack already deep, as in a server thread: a parser that recursed would fail here."""
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(200)
    yield
    sys.setrecursionlimit(before)


def test_a_document_too_deep_is_refused_before_it_is_parsed(low_recursion_limit: None) -> None:
    for text in ("[" * 100_000 + "]" * 100_000, '{"a":' * 5000 + "1" + "}" * 5000, "[" * 10**6):
        with pytest.raises(JSONDepthError) as refused:
            loads(text.encode())
        assert isinstance(refused.value, ValueError) and refused.value.limit == MAX_DEPTH
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    with pytest.raises(JSONDepthError):
        loads("[[[1]]]", max_depth=2)


def test_what_rfc_8259_does_not_call_json_is_refused() -> None:
    for text in ("NaN", "[Infinity]", '{"a": -Infinity}', "1e999", "[-1e400]"):
        with pytest.raises(ValueError):
            loads(text)
    assert loads("[1e308, -2.5, 10]") == [1e308, -2.5, 10]


def test_bytes_are_decoded_as_json_loads_decodes_them() -> None:
    value = {"name": "日本 [talk]"}
    text = json.dumps(value)
    for raw in (text.encode(), text.encode("utf-16"), b"\xef\xbb\xbf" + text.encode()):
        assert loads(raw) == value
    with pytest.raises(ValueError):
        loads(b'{"a": "\xff"}')
