"""The gateway (``make_app`` in this process, driven by ``werkzeug.test.Client``) under arbitrary HTTP.

1. Any method, path (percent-encoding, dot segments, unicode, queries), headers and body: never a
   5xx. The upstream is the scripted fake made tolerant (it answers 400 to what it cannot parse and
   404 to paths it does not serve), so every 5xx would be the gateway's own.
2. Invalid V1 input, built to be invalid in one known way (no token, a wrong content type, a body
   that is not JSON or not a V1 body, a bad ``x-filename``, an empty upload, a session id with a
   path character in it, another caller's session): a V1 4xx with a JSON ``error``, and not a
   single request upstream.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fake_v3 import FakeV3
from hypothesis import assume, given
from hypothesis import strategies as st
from prop_strategies import json_values, methods, paths, urls
from pytest_httpserver import HTTPServer
from sec_helpers import SESSIONS, TOKEN, NetGuard
from werkzeug import Request, Response
from werkzeug.test import Client, EnvironBuilder

from compat.gateway import make_app


class TolerantFake(FakeV3):
    """The fake V3, answering 400 where the scripted fake would fail on malformed input."""

    def _dispatch(self, request: Request) -> Response:
        try:
            return super()._dispatch(request)
        except Exception:
            return Response(status=400)


@pytest.fixture
def upstream(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, net: NetGuard) -> TolerantFake:
    monkeypatch.setattr(httpserver, "no_handler_status_code", 404)
    net.names.update({"media.example": ["127.0.0.2"], "internal.example": ["127.0.0.1"]})
    return TolerantFake(httpserver, token=TOKEN)


@pytest.fixture
def gateway(upstream: TolerantFake) -> Iterator[tuple[Client, str]]:
    """The gateway and a session TOKEN owns."""
    app = make_app(upstream.base_url, store=":memory:", timeout=5, max_retries=1, backoff_base=0.001)
    client = Client(app)
    created = client.post(SESSIONS, json={"language": "en"}, headers={"x-zoom-s2t-key": TOKEN})
    yield client, created.json["result"]["session_id"]
    app.close()


header_names = st.sampled_from(
    ["x-zoom-s2t-key", "Authorization", "Content-Type", "x-filename", "Accept", "Transfer-Encoding", "X-Other"]
)
# What a WSGI server hands over: latin-1 text (the bytes of the header), one line.
safe_values = st.text(alphabet=st.characters(max_codepoint=0xFF, exclude_characters="\r\n"), max_size=40)


@given(
    method=methods,
    path=paths(),
    headers=st.dictionaries(header_names, safe_values, max_size=4),
    token=st.sampled_from([None, TOKEN, "someone-else"]),
    body=st.one_of(st.binary(max_size=300), json_values.map(lambda v: json.dumps(v).encode())),
)
def test_the_gateway_never_answers_5xx(
    upstream: TolerantFake,
    gateway: tuple[Client, str],
    method: str,
    path: str,
    headers: dict[str, str],
    token: str | None,
    body: bytes,
) -> None:
    client, _ = gateway
    if token is not None:
        headers = {**headers, "x-zoom-s2t-key": token}
    try:
        environ = EnvironBuilder(path=path, method=method, headers=headers, data=body).get_environ()
    except (ValueError, UnicodeError):
        assume(False)  # not a request HTTP can carry
    answer = client.open(environ)
    assert answer.status_code < 500, f"{method} {path}: {answer.status_code} {answer.get_data(as_text=True)[:300]}"
    if answer.status_code >= 400 and answer.mimetype == "application/json" and method != "HEAD":
        assert isinstance(answer.json.get("error"), str)


# Invalid V1 input, one known defect at a time --------------------------------------------------------

AUTH = {"x-zoom-s2t-key": TOKEN}
JSON = {**AUTH, "Content-Type": "application/json"}
MEDIA = {**AUTH, "Content-Type": "audio/wav", "x-filename": "talk.wav"}
PATH_CHARACTERS = st.sampled_from([*"/\\.%~;:@ \x00\n\t", "\uff0f", "\u2215", "\u0430", "\u202e", "\u00e9"])


def not_json(data: bytes) -> bool:
    try:
        json.loads(data)
        return False
    except (ValueError, UnicodeDecodeError):
        return True


@st.composite
def bad_ids(draw: st.DrawFn) -> str:
    """A session id with a character no V1 session id has, anywhere in it."""
    base = draw(st.text(alphabet="0123456789abcdef", max_size=26))
    where = draw(st.integers(0, len(base)))
    return base[:where] + draw(PATH_CHARACTERS) + base[where:]


def invalid_create() -> st.SearchStrategy[tuple[str, str, dict[str, str], bytes, str]]:
    good = json.dumps({"language": "en"}).encode()
    not_json_types = safe_values.filter(lambda t: not t.strip().lower().startswith("application/json"))
    bad_language = st.one_of(
        json_values.filter(lambda v: not isinstance(v, str)), st.sampled_from(["", "  ", "x" * 65, "en\n", "e\x00n"])
    )
    flag = st.sampled_from(["keep_source", "punctuation", "multichannel"])
    non_bool = json_values.filter(lambda v: not isinstance(v, bool))
    non_http = urls().filter(lambda u: not u.lower().startswith(("http://", "https://")))

    def create(body: Any, headers: dict[str, str] = JSON) -> bytes:
        return json.dumps(body).encode()

    return st.one_of(
        st.just(("POST", SESSIONS, {"Content-Type": "application/json"}, good, "no token")),
        not_json_types.map(lambda t: ("POST", SESSIONS, {**AUTH, "Content-Type": t}, good, "not JSON content")),
        st.binary(max_size=200).filter(not_json).map(lambda b: ("POST", SESSIONS, JSON, b, "body not JSON")),
        json_values.filter(lambda v: not isinstance(v, dict)).map(
            lambda v: ("POST", SESSIONS, JSON, create(v), "JSON not an object")
        ),
        bad_language.map(lambda v: ("POST", SESSIONS, JSON, create({"language": v}), "bad language")),
        st.tuples(flag, non_bool).map(
            lambda f: ("POST", SESSIONS, JSON, create({"language": "en", f[0]: f[1]}), "flag not a boolean")
        ),
        st.text(max_size=8)
        .filter(lambda m: m.upper() not in ("POST", "PUT"))
        .map(
            lambda m: (
                "POST",
                SESSIONS,
                JSON,
                create({"language": "en", "webhook_url": "https://h.example/x", "webhook_method": m}),
                "webhook method",
            )
        ),
        non_http.map(lambda u: ("POST", SESSIONS, JSON, create({"language": "en", "media_source": u}), "media_source")),
    )


def invalid_on_session() -> st.SearchStrategy[tuple[str, str, dict[str, str], bytes, str]]:
    """Calls on the caller's session ({sid}) or on a bad id, each with one defect."""
    not_media = safe_values.filter(lambda t: t.split("/", 1)[0].strip().lower() not in ("audio", "video"))
    bad_names = st.one_of(
        safe_values.map(lambda n: n + "/x.wav"),
        safe_values.map(lambda n: "a\\" + n),
        st.sampled_from(["..", ".", "", "a\tb.wav", "a\x00.wav", "x" * 256]),
    )
    session = f"{SESSIONS}/{{sid}}"
    return st.one_of(
        st.just(("PUT", session, {"Content-Type": "audio/wav"}, b"RIFF", "no token")),
        not_media.map(lambda t: ("PUT", session, {**MEDIA, "Content-Type": t}, b"RIFF", "not media")),
        bad_names.map(lambda n: ("PUT", session, {**MEDIA, "x-filename": n}, b"RIFF", "bad x-filename")),
        st.just(("PUT", session, {**MEDIA, "Content-Length": "0"}, b"", "empty body")),
        st.just(("PUT", session, {**MEDIA, "x-zoom-s2t-key": "someone-else"}, b"RIFF", "not the owner")),
        st.just(
            ("POST", session + "/align", {**AUTH, "Content-Type": "application/json"}, b"{}", "align not multipart")
        ),
        st.sampled_from(["GET", "DELETE"]).map(
            lambda m: (m, session + ("/result" if m == "GET" else ""), {"x-zoom-s2t-key": "someone-else"}, b"", "owner")
        ),
        st.tuples(st.sampled_from(["PUT", "GET", "DELETE", "ALIGN"]), bad_ids()).map(
            lambda c: (
                "POST" if c[0] == "ALIGN" else c[0],
                f"{SESSIONS}/{quote(c[1], safe='')}" + {"GET": "/result", "ALIGN": "/align"}.get(c[0], ""),
                MEDIA,
                b"RIFF",
                "bad session id",
            )
        ),
    )


@given(call=st.one_of(invalid_create(), invalid_on_session()))
def test_invalid_v1_input_gets_a_v1_4xx_and_nothing_goes_upstream(
    upstream: TolerantFake, gateway: tuple[Client, str], call: tuple[str, str, dict[str, str], bytes, str]
) -> None:
    client, session_id = gateway
    method, path, headers, body, defect = call
    before, uploads = len(upstream.requests), dict(upstream.uploads)
    # werkzeug's builder drops "Content-Length: 0"; a WSGI server passes it on, as here
    length = {"CONTENT_LENGTH": headers["Content-Length"]} if "Content-Length" in headers else {}
    answer = client.open(
        path.format(sid=session_id), method=method, headers=headers, data=body, environ_overrides=length
    )
    assert 400 <= answer.status_code < 500, f"{defect}: {answer.status_code} {answer.get_data(as_text=True)[:200]}"
    assert answer.mimetype == "application/json" and isinstance(answer.json["error"], str), defect
    if defect in ("not the owner", "owner"):  # upstream only vouches for the token (401 or 404, as V1)
        assert upstream.requests[before:] == [("GET", "session", 0)], defect
    else:
        assert len(upstream.requests) == before, f"{defect}: the upstream was called"
    assert upstream.uploads == uploads and not upstream.sessions[session_id].deleted
