"""Hypothesis strategies for V1 input: JSON bodies, URLs, header values, session ids, request paths."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

__all__ = [
    "HOSTS",
    "header_values",
    "json_values",
    "methods",
    "paths",
    "session_ids",
    "urls",
    "v1_bodies",
]

json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)

# Hosts a media_source may name: internal ones in many spellings, names the tests' network resolves
# (media.example -> 127.0.0.2, internal.example -> 127.0.0.1) or does not, and public literals (which
# the tests' network refuses to connect to: nothing leaves loopback).
HOSTS = [
    "127.0.0.1",
    "localhost",
    "127.1",
    "0x7f.1",
    "2130706433",
    "0",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:a9fe:a9fe]",
    "169.254.169.254",
    "10.0.0.1",
    "[fe80::1]",
    "media.example",
    "internal.example",
    "unknown.example",
    "\u24db\u24de\u24d2\u24d0\u24db\u24d7\u24de\u24e2\u24e3",
    "93.184.216.34",
    "[2606:4700::1111]",
    "user@127.0.0.1",
    "127.0.0.1:99999",
    "",
]


@st.composite
def urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "ftp", "file", "gopher", "javascript", ""]))
    host = draw(st.sampled_from(HOSTS) | st.text(max_size=12))
    port = draw(st.sampled_from(["", ":80", ":8080", ":0", ":-1", ":x"]))
    path = draw(st.sampled_from(["/x.mp3", "/", "", "/a/../b.wav", "/%00", "?q=1", "#f"]) | st.text(max_size=12))
    return f"{scheme}://{host}{port}{path}" if scheme else f"{host}{port}{path}"


header_values = st.text(
    alphabet=st.characters(min_codepoint=0, max_codepoint=0x17F, exclude_categories=("Cs",)), max_size=40
)
header_lines = st.one_of(
    st.builds(lambda n, v: f"{n}: {v}", st.sampled_from(["X-Key", "Authorization", "bad name", ""]), header_values),
    header_values,
)
booleans_or_any = st.one_of(st.booleans(), json_values)

_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "language": st.one_of(st.sampled_from(["en", "nl", "de", " ", "", "en\n", "x" * 65]), json_values),
    "keep_source": booleans_or_any,
    "punctuation": booleans_or_any,
    "multichannel": booleans_or_any,
    "webhook_url": st.one_of(urls(), json_values),
    "webhook_method": st.one_of(st.sampled_from(["POST", "PUT", "post", "GET", ""]), json_values),
    "webhook_headers": st.one_of(st.lists(header_lines, max_size=3), json_values),
    "callback_url": urls(),
    "callback_method": st.sampled_from(["POST", "put", "DELETE"]),
    "callback_headers": st.lists(header_lines, max_size=2),
    "media_source": st.one_of(urls(), json_values),
    "document": st.one_of(
        st.fixed_dictionaries(
            {},
            optional={
                "document_type": st.one_of(st.sampled_from(["caption", "document", "pdf"]), json_values),
                "max_line_length": st.one_of(st.integers(-5, 200), json_values),
                "webhook_url": urls(),
                "webhook_method": st.sampled_from(["POST", "GET"]),
                "webhook_headers": st.lists(header_lines, max_size=2),
            },
        ),
        json_values,
    ),
    "meta_data": st.one_of(st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3), json_values),
}

v1_bodies: st.SearchStrategy[Any] = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"language": st.sampled_from(["en", "nl"])}, optional={k: v for k, v in _FIELDS.items() if k != "language"}
    ),
    st.fixed_dictionaries({}, optional=_FIELDS).flatmap(
        lambda known: st.dictionaries(st.text(max_size=10), json_values, max_size=2).map(
            lambda extra: {**extra, **known}
        )
    ),
)

# Session ids: look-alikes of real ones and anything at all.
session_ids = st.one_of(
    st.text(alphabet="0123456789abcdef", min_size=1, max_size=30),
    st.sampled_from(["..", ".", "a/b", "a%2Fb", "%2e%2e", "a\x00", "a\n", "\uff41", "-a", "a" * 129, ""]),
    st.text(max_size=20),
)

methods = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "PROPFIND", "X-Y"])

_SEGMENTS = st.one_of(
    st.sampled_from(
        ["api", "v3", "speech-to-text", "session", "result", "align", "files", "_gateway", "health", ".", "..", ""]
    ),
    st.sampled_from(["%2F", "%2e%2e", "%00", "%2E", "%5C", "%25", "%E2%80%AE", "%ZZ", "%", ";x=1", "~", "@"]),
    st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x2FF, exclude_characters="?#%"), max_size=8),
)


@st.composite
def paths(draw: st.DrawFn) -> str:
    """A request path: often under a legacy prefix (Batch V1, Zoom Media), with odd segments, encodings and unicode."""
    legacy = ["/api/v3/speech-to-text/session", "/api/v2/speech-to-text/session", "/api/v1/speech-to-text/session"]
    prefix = draw(st.sampled_from([*legacy, "/api/v3", "", "/_gateway"]))
    segments = draw(st.lists(_SEGMENTS, max_size=5))
    query = draw(st.sampled_from(["", "?x=1", "?api_key=abc", "?%00"]))
    return prefix + "".join("/" + s for s in segments) + query or "/"
