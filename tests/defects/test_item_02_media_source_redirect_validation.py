"""Issue 10, item 2: a ``media_source`` redirect to a bad URL raised ``ValueError``.

A redirect to ``http://host:99999/a.wav`` escaped ``LegacyClient`` as ``ValueError: Port out of
range`` and the gateway answered 500. Every redirect target now gets the very check the original
URL gets (``compat.v1.validation.check_url``), so the caller sees the same V1 4xx either way, and
nothing goes upstream.

The redirecting host is a plain ``http.server`` (werkzeug refuses to *send* such a ``Location``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fake_v3 import FakeV3
from pytest_httpserver import HTTPServer
from werkzeug.test import Client

from compat import LegacyClient, ScriptixError
from compat.gateway import make_app

TOKEN = "item-02-token"
SESSIONS = "/api/v3/speech-to-text/session"

# Locations that are not valid http(s) URLs; each used to raise ValueError somewhere in the fetch.
BAD_TARGETS = [
    "http://host:99999/a.wav",  # port out of range
    "http://host:-1/a.wav",  # negative port
    "http://host:x/a.wav",  # port not a number
    "http://[bad/a.wav",  # unclosed IPv6 bracket (urljoin itself raises)
    "http://[::1/a.wav",
    "http://:80/a.wav",  # no host
    "ftp://media.example/a.wav",  # not http(s)
]


class _Redirector(BaseHTTPRequestHandler):
    """Answers every GET with 302 to ``server.location``, sent byte for byte."""

    def do_GET(self) -> None:
        self.send_response(302)
        self.send_header("Location", self.server.location)  # type: ignore[attr-defined]
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def redirector() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirector)
    server.location = "/"  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeV3:
    return FakeV3(httpserver, token=TOKEN)


def _media_url(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_port}/x-file.wav"


def _client(fake: FakeV3) -> LegacyClient:
    # 127.0.0.1 plays the media host: private addresses allowed, the form of every URL still checked.
    return LegacyClient(api_key=TOKEN, base_url=fake.base_url, store=":memory:", allow_private_media=True)


def _refusal(client: LegacyClient, url: str) -> ScriptixError:
    with pytest.raises(ScriptixError) as caught:
        client.create_session("en", media_source=url)
    return caught.value


@pytest.mark.parametrize("target", BAD_TARGETS)
def test_legacy_client_refuses_a_redirect_to_a_bad_url_with_a_v1_4xx(
    fake: FakeV3, redirector: ThreadingHTTPServer, target: str
) -> None:
    redirector.location = target  # type: ignore[attr-defined]
    with _client(fake) as client:
        error = _refusal(client, _media_url(redirector))
    assert error.status_code == 422, error
    assert isinstance(error.body, dict) and "media_source redirect target" in error.body["error"]
    assert fake.requests == [] and fake.uploads == {}


@pytest.mark.parametrize("target", BAD_TARGETS)
def test_a_redirect_target_is_refused_exactly_like_the_same_url_given_as_media_source(
    fake: FakeV3, redirector: ThreadingHTTPServer, target: str
) -> None:
    """One check, not a copy: the same status, and the same message but for the name of the URL."""
    redirector.location = target  # type: ignore[attr-defined]
    with _client(fake) as client:
        direct = _refusal(client, target)
        redirected = _refusal(client, _media_url(redirector))
    assert direct.status_code == redirected.status_code
    assert isinstance(direct.body, dict) and isinstance(redirected.body, dict)
    assert redirected.body["error"] == direct.body["error"].replace("media_source", "media_source redirect target")


def test_the_gateway_answers_a_v1_422_not_a_500(fake: FakeV3, redirector: ThreadingHTTPServer) -> None:
    redirector.location = "http://host:99999/a.wav"  # type: ignore[attr-defined]
    app = make_app(fake.base_url, store=":memory:", allow_private_media=True)
    try:
        answer = Client(app).post(
            SESSIONS,
            json={"language": "en", "media_source": _media_url(redirector)},
            headers={"x-zoom-s2t-key": TOKEN},
        )
    finally:
        app.close()
    assert answer.status_code == 422, answer.get_data(as_text=True)
    assert "media_source redirect target" in answer.json["error"]
    assert fake.requests == []


def test_a_background_job_redirected_to_a_bad_url_ends_failed_with_the_reason(
    fake: FakeV3, redirector: ThreadingHTTPServer
) -> None:
    redirector.location = "http://host:99999/a.wav"  # type: ignore[attr-defined]
    with LegacyClient(
        api_key=TOKEN,
        base_url=fake.base_url,
        store=":memory:",
        allow_private_media=True,
        media_source_mode="background",
    ) as client:
        session_id = client.create_session("en", media_source=_media_url(redirector))["result"]["session_id"]
        assert client.translator.wait_for_transfers(10)
        result = client.get_result(session_id)["result"]
    assert result["status"] == "failed"
    assert "media_source redirect target" in result["error"]
    assert fake.uploads == {}
