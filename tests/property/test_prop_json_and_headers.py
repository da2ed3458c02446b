"""Hostile JSON and header bytes through the gateway and ``install()`` (issue 10, items 1 and 4).

Create bodies are JSON of any depth (0 to 500,000 levels) and size (up to three times the 1 MiB cap),
whole or cut short, bare or inside a V1 body that would otherwise be translated; header values are
any bytes HTTP can carry on one line. Properties:

* never a 5xx, and through ``install()`` never an exception (a ``ScriptixError`` subclass is the only
  kind allowed to escape: strict mode's ``LegacyCallError``);
* a refusal is a V1 4xx with a JSON ``error``;
* a body nested deeper than :data:`compat.safejson.MAX_DEPTH` is a 422 and nothing goes upstream;
* :func:`compat.safejson.nesting` is the depth of what ``json.loads`` builds.

The tests that send requests take a third of the profile's examples (50 in the default run, 500
with ``--full-matrix``); depths and sizes are drawn small most of the time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from fake_v3 import FakeV3
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from prop_strategies import json_values
from pytest_httpserver import HTTPServer
from sec_helpers import LEGACY, SESSIONS, TOKEN, NetGuard
from werkzeug import Request, Response
from werkzeug.test import Client

from compat import ScriptixError, install
from compat.frontdoor.http import MAX_JSON_BODY
from compat.gateway import make_app
from compat.safejson import MAX_DEPTH, nesting

# A third of the profile's examples for the tests that send requests (fast run: 50; full: 500).
SENDING = settings(max_examples=max(20, settings.default.max_examples // 3))

# JSON of any depth and size -----------------------------------------------------------------------

_OPENERS = {"array": ("[", "]"), "object": ('{"k":', "}"), "object after a key": ('{"a": 1, "\\"[{": ', "}")}


@dataclass(frozen=True)
class Document:
    """A JSON text as sent, and how deep its arrays and objects nest when it is whole."""

    text: str
    depth: int
    whole: bool

    def __repr__(self) -> str:  # a failing example prints readably even at 3 MiB
        shown = self.text if len(self.text) <= 200 else f"{self.text[:100]}…({len(self.text)} chars)…{self.text[-60:]}"
        return f"Document(depth={self.depth}, whole={self.whole}, text={shown!r})"


@st.composite
def documents(draw: st.DrawFn) -> Document:
    depth = draw(
        st.one_of(
            st.integers(0, MAX_DEPTH + 3),
            st.integers(0, 3000),
            st.sampled_from([999, 1000, 50_000, 500_000]),
        )
    )
    pattern = draw(st.lists(st.sampled_from(sorted(_OPENERS)), min_size=1, max_size=3))
    kinds = [_OPENERS[pattern[level % len(pattern)]] for level in range(depth)]
    core_value = draw(json_values)
    core, inner = json.dumps(core_value), json_depth(core_value)
    if draw(st.integers(0, 9)) == 0:  # what json.loads takes but RFC 8259 (and every encoder) does not
        core, inner = draw(st.sampled_from(["NaN", "-Infinity", "1e999", "-1e400", "1" * 5000])), 0
    nested_text = "".join(o for o, _ in kinds) + core + "".join(c for _, c in reversed(kinds))
    wrapped = draw(st.booleans())  # inside a V1 body that would otherwise be translated
    padding = draw(st.one_of(st.just(0), st.integers(0, 2000), st.sampled_from([MAX_JSON_BODY, 3 * MAX_JSON_BODY])))
    if wrapped:
        pad = f', "pad": "{"x" * padding}"' if padding else ""
        text = '{"language": "en", "extra": ' + nested_text + pad + "}"
        depth_of_text = 1 + depth + inner
    else:
        text = nested_text + " " * padding
        depth_of_text = depth + inner
    whole = draw(st.integers(0, 4)) > 0
    if not whole:
        text = text[: draw(st.integers(0, max(0, len(text) - 1)))]
    return Document(text, depth_of_text, whole)


def json_depth(value: Any) -> int:
    """The nesting of a parsed value, without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, list | dict):
            deepest = max(deepest, level + 1)
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


@given(value=json_values)
def test_nesting_is_the_depth_json_loads_builds(value: Any) -> None:
    text = json.dumps(value)
    assert nesting(text) == json_depth(value)


# Header values: any bytes one header line can carry ----------------------------------------------------

header_bytes = st.one_of(
    st.binary(max_size=40),
    st.text(max_size=20).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.sampled_from(["日本 talk.wav".encode(), "café.wav".encode("latin-1"), b"\xff\xfe", b"\xc3", b"a\x00b"]),
).filter(lambda b: b"\r" not in b and b"\n" not in b)
header_names = st.sampled_from(["x-filename", "content-type", "x-zoom-s2t-key", "authorization", "accept", "x-other"])
random_headers = st.dictionaries(header_names, header_bytes, max_size=3)


# The upstream and the two surfaces ---------------------------------------------------------------------


class TolerantFake(FakeV3):
    """The fake V3, answering 400 where the scripted fake would fail on malformed input."""

    def _dispatch(self, request: Request) -> Response:
        try:
            return super()._dispatch(request)
        except Exception:
            return Response(status=400)


@pytest.fixture
def upstream(httpserver: HTTPServer, net: NetGuard) -> TolerantFake:
    return TolerantFake(httpserver, token=TOKEN)


@pytest.fixture
def gateway(upstream: TolerantFake) -> Iterator[tuple[Client, str]]:
    """The gateway (in this process) and a session TOKEN owns."""
    app = make_app(upstream.base_url, store=":memory:", timeout=5, max_retries=0, backoff_base=0.001)
    client = Client(app)
    created = client.post(SESSIONS, json={"language": "en"}, headers={"x-zoom-s2t-key": TOKEN})
    yield client, created.json["result"]["session_id"]
    app.close()


@pytest.fixture
def installed(upstream: TolerantFake) -> Iterator[str]:
    """``install()`` in front of the fake, and a session TOKEN owns."""
    with install(base_url=upstream.base_url, store=":memory:", timeout=5, max_retries=0, backoff_base=0.001):
        created = requests.post(LEGACY + SESSIONS, json={"language": "en"}, headers={"x-zoom-s2t-key": TOKEN})
        yield created.json()["result"]["session_id"]


AUTH_JSON = {"x-zoom-s2t-key": TOKEN, "Content-Type": "application/json"}
MEDIA = {"x-zoom-s2t-key": TOKEN, "Content-Type": "audio/wav", "x-filename": "talk.wav"}


def check_answer(status: int, content_type: str | None, body: bytes, what: str) -> None:
    assert status < 500, f"{what}: {status} {body[:300]!r}"
    if status >= 400:
        assert (content_type or "").startswith("application/json"), f"{what}: {status} {content_type}"
        assert isinstance(json.loads(body).get("error"), str), what


def check_deep_refused(document: Document, status: int, upstream: FakeV3, before: int) -> None:
    if document.whole and document.depth > MAX_DEPTH:
        assert status == 422, f"{document!r}: {status}"
        assert len(upstream.requests) == before, "a body too deep went upstream"


def wsgi_value(raw: bytes) -> str:
    return raw.decode("latin-1")  # what a WSGI server hands over (PEP 3333)


# The gateway -------------------------------------------------------------------------------------------


@SENDING
@given(document=documents(), headers=random_headers)
@example(document=Document("[" * 1000 + "]" * 1000, 1000, True), headers={})
def test_the_gateway_answers_any_json_body_with_a_v1_answer(
    upstream: TolerantFake, gateway: tuple[Client, str], document: Document, headers: dict[str, bytes]
) -> None:
    client, _ = gateway
    before = len(upstream.requests)
    environ = {f"HTTP_{name.upper().replace('-', '_')}": wsgi_value(value) for name, value in headers.items()}
    if "content-type" in headers:
        environ["CONTENT_TYPE"] = environ.pop("HTTP_CONTENT_TYPE")
    answer = client.post(SESSIONS, data=document.text.encode(), headers=AUTH_JSON, environ_overrides=environ)
    check_answer(answer.status_code, answer.content_type, answer.get_data(), repr(document))
    if not headers:
        check_deep_refused(document, answer.status_code, upstream, before)


@SENDING
@given(headers=random_headers, data=st.binary(min_size=1, max_size=64))
@example(headers={"x-filename": "日本 talk.wav".encode()}, data=b"RIFF")
def test_the_gateway_answers_any_header_bytes_with_a_v1_answer(
    upstream: TolerantFake, gateway: tuple[Client, str], headers: dict[str, bytes], data: bytes
) -> None:
    client, session_id = gateway
    environ = {f"HTTP_{name.upper().replace('-', '_')}": wsgi_value(value) for name, value in headers.items()}
    if "content-type" in headers:
        environ["CONTENT_TYPE"] = environ.pop("HTTP_CONTENT_TYPE")
    for method, path in (("PUT", f"{SESSIONS}/{session_id}"), ("GET", f"{SESSIONS}/{session_id}/result")):
        answer = client.open(path, method=method, data=data, headers=MEDIA, environ_overrides=environ)
        check_answer(answer.status_code, answer.content_type, answer.get_data(), f"{method} {headers!r}")
        if answer.status_code == 200 and method == "PUT" and "x-filename" in headers:
            raw = headers["x-filename"]
            try:
                meant = raw.decode("utf-8")
            except UnicodeDecodeError:
                meant = raw.decode("latin-1")
            assert answer.json["result"]["filename"] == meant


# install() ---------------------------------------------------------------------------------------------


def send(prepared: requests.PreparedRequest) -> requests.Response:
    """Send through install(); any exception but a ScriptixError subclass fails the property."""
    try:
        with requests.Session() as session:
            return session.send(prepared, timeout=10)
    except ScriptixError:
        raise
    except Exception as exc:
        pytest.fail(f"install() raised {type(exc).__name__}: {exc}"[:500])


def prepared(method: str, url: str, headers: dict[str, Any], data: bytes) -> requests.PreparedRequest:
    try:
        return requests.Request(method, url, headers=headers, data=data).prepare()
    except (requests.exceptions.InvalidHeader, ValueError):
        assume(False)  # requests itself refuses to build it: it never reaches the adapter
        raise AssertionError("unreachable") from None


@SENDING
@given(document=documents(), headers=random_headers)
@example(document=Document("[" * 1000 + "]" * 1000, 1000, True), headers={})
def test_install_answers_any_json_body_with_a_v1_answer(
    upstream: TolerantFake, installed: str, document: Document, headers: dict[str, bytes]
) -> None:
    before = len(upstream.requests)
    request = prepared("POST", LEGACY + SESSIONS, {**AUTH_JSON, **headers}, document.text.encode())
    answer = send(request)
    check_answer(answer.status_code, answer.headers.get("Content-Type"), answer.content, repr(document))
    if not headers:
        check_deep_refused(document, answer.status_code, upstream, before)


@SENDING
@given(headers=random_headers, data=st.binary(min_size=1, max_size=64))
@example(headers={"x-filename": "日本 talk.wav".encode()}, data=b"RIFF")
def test_install_answers_any_header_bytes_with_a_v1_answer(
    upstream: TolerantFake, installed: str, headers: dict[str, bytes], data: bytes
) -> None:
    for method, path in (("PUT", f"{SESSIONS}/{installed}"), ("GET", f"{SESSIONS}/{installed}/result")):
        answer = send(prepared(method, LEGACY + path, {**MEDIA, **headers}, data))
        check_answer(answer.status_code, answer.headers.get("Content-Type"), answer.content, f"{method} {headers!r}")
        if answer.status_code == 200 and method == "PUT" and "x-filename" in headers:
            raw = headers["x-filename"]
            try:
                meant = raw.decode("utf-8")
            except UnicodeDecodeError:
                meant = raw.decode("latin-1")
            assert answer.json()["result"]["filename"] == meant
