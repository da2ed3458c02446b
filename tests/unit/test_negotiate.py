"""``compat.negotiate``: which of JSON, WebVTT and SRT an ``Accept`` header (or ``format``) asks for."""

from __future__ import annotations

import pytest

from compat.negotiate import CONTENT_TYPES, OFFERS, Negotiated, negotiate, parse_accept

CASES: list[tuple[str | None, Negotiated | None]] = [
    # no preference: JSON
    (None, Negotiated("json", "application/json")),
    ("", Negotiated("json", "application/json")),
    ("  ", Negotiated("json", "application/json")),
    ("*/*", Negotiated("json", "application/json")),
    ("application/*", Negotiated("json", "application/json")),
    ("application/json", Negotiated("json", "application/json")),
    # the exact types
    ("text/vtt", Negotiated("vtt", "text/vtt")),
    ("TEXT/VTT; charset=UTF-8", Negotiated("vtt", "text/vtt")),
    ("text/srt", Negotiated("srt", "text/srt")),
    ("application/x-subrip", Negotiated("srt", "application/x-subrip")),
    # text/* is captions, WebVTT first
    ("text/*", Negotiated("vtt", "text/vtt")),
    ("text/*;q=0.2, text/srt", Negotiated("srt", "text/srt")),
    # weights
    ("application/json;q=0.5, text/vtt;q=0.9", Negotiated("vtt", "text/vtt")),
    ("text/vtt;q=0.4, application/json;q=0.5", Negotiated("json", "application/json")),
    ("*/*;q=0.1, text/vtt", Negotiated("vtt", "text/vtt")),
    ("text/vtt;q=0, */*", Negotiated("json", "application/json")),  # "anything but WebVTT"
    ("application/json;q=0, text/*;q=0.3", Negotiated("vtt", "text/vtt")),
    ("text/vtt;q=0.5, text/vtt;q=0.8", Negotiated("vtt", "text/vtt")),
    ("text/vtt;q=0.000", None),
    # the most specific range decides, whatever its weight
    ("text/*;q=1, text/vtt;q=0, application/json;q=0.1", Negotiated("srt", "text/srt")),
    # ties go to the server's order: JSON, WebVTT, SRT
    ("text/srt, text/vtt", Negotiated("vtt", "text/vtt")),
    ("text/srt, application/x-subrip", Negotiated("srt", "text/srt")),
    # nothing we can serve: 406
    ("image/png", None),
    ("application/xml, text/html;q=0.9", None),
    ("*/*;q=0", None),
    ("application/ttml+xml", None),
    # malformed ranges are left out; a header of nothing but them means "anything"
    ("garbage", Negotiated("json", "application/json")),
    ("*/json, text/vtt", Negotiated("vtt", "text/vtt")),
    ("text/, /vtt, image/png", None),
    # a malformed weight is the default weight
    ("text/vtt;q=abc", Negotiated("vtt", "text/vtt")),
    ("text/vtt;q=1.5, application/json;q=0.9", Negotiated("vtt", "text/vtt")),
]


@pytest.mark.parametrize(("accept", "expected"), CASES, ids=[repr(c[0]) for c in CASES])
def test_accept_headers(accept: str | None, expected: Negotiated | None) -> None:
    assert negotiate(accept) == expected


def test_the_format_parameter_takes_precedence_over_the_header() -> None:
    assert negotiate("application/json", "text/vtt") == Negotiated("vtt", "text/vtt")
    assert negotiate("text/vtt", "application/json") == Negotiated("json", "application/json")
    assert negotiate("text/vtt", "") == Negotiated("vtt", "text/vtt")  # empty: the header decides
    assert negotiate(None, "application/ttml+xml") is None
    assert negotiate(None, "vtt") is None  # not a media type: nothing to serve


def test_parse_accept() -> None:
    assert parse_accept("Text/VTT;Q=0.5 ; charset=x, */*, bad, a/b;q=2") == [
        ("text", "vtt", 0.5),
        ("*", "*", 1.0),
        ("a", "b", 1.0),
    ]
    assert len(parse_accept(", ".join(["text/vtt"] * 1000))) == 64  # bounded work on a huge header


def test_every_offer_has_a_content_type() -> None:
    assert [media for media, _ in OFFERS] == list(CONTENT_TYPES)
    assert {fmt for _, fmt in OFFERS} == {"json", "vtt", "srt"}
    assert CONTENT_TYPES["text/vtt"].startswith("text/vtt")
