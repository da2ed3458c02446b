"""Callbacks the old way: a Zoom Media session's ``callback_url`` receives the old body when it is done.

The shim makes the callback a V3 webhook (``callback_url``/``callback_method``/``callback_headers`` ->
``webhook_*``): V3 webhooks carry ``{"sessionId", "zoom_id"}`` with ``X-Zoom-Session`` /
``X-Scriptix-Session`` and the custom headers, which is what the Zoom Media API sent since May 2020. The
emulator in V3 mode delivers it; the receiver gets the same as from the emulator's legacy mode.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response
from zm_helpers import TOKEN, TRANSCRIPTS, ZOOM, ZoomClient, make_wav

import compat
from compat.emulator import Emulator
from compat.gateway import GatewayServer

HEADERS = ["X-Internal-ID: QW5zd2VyIG9mIGxpZmUK", "X-Zoom-Session: spoofed"]


class Receiver:
    def __init__(self, httpserver: HTTPServer) -> None:
        self.calls: list[tuple[Request, bytes]] = []
        httpserver.expect_request("/callback").respond_with_handler(self)

    def __call__(self, request: Request) -> Response:
        self.calls.append((request, request.get_data()))
        return Response("ok")

    def wait(self, count: int = 1, timeout: float = 10.0) -> list[tuple[Request, bytes]]:
        deadline = time.monotonic() + timeout
        while len(self.calls) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.calls) >= count, "no callback arrived"
        return self.calls


def callback_of(zoom: ZoomClient, wav: Path, receiver: Receiver, url: str) -> tuple[str, dict[str, Any]]:
    """Create with a callback, upload, and what the receiver got: method, body, the headers that matter."""
    session_id = zoom.create_id(
        callback_url=url, callback_method="PUT", callback_format="text/vtt", callback_headers=HEADERS
    )
    assert zoom.upload(session_id, wav).status_code == 200
    request, body = receiver.wait()[0]
    seen = {
        "method": request.method,
        "body": json.loads(body),
        "content_type": request.headers.get("Content-Type"),
        "internal": request.headers.get("X-Internal-ID"),
        "zoom_session": request.headers.get("X-Zoom-Session"),
        "scriptix_session": request.headers.get("X-Scriptix-Session"),
    }
    return session_id, seen


def expected(session_id: str) -> dict[str, Any]:
    return {
        "method": "PUT",
        "body": {"sessionId": session_id, "zoom_id": session_id},
        "content_type": "application/json",
        "internal": "QW5zd2VyIG9mIGxpZmUK",
        "zoom_session": session_id,  # a custom header cannot override it
        "scriptix_session": session_id,
    }


@pytest.mark.parametrize("surface", ["install", "gateway"])
def test_the_callback_arrives_as_the_old_api_sent_it(surface: str, httpserver: HTTPServer, tmp_path: Path) -> None:
    wav = make_wav(tmp_path / "talk.wav")
    receiver = Receiver(httpserver)
    url = httpserver.url_for("/callback")
    with Emulator(processing_delay=0.05, transcripts=TRANSCRIPTS, tokens=[TOKEN]) as v3:
        if surface == "install":
            with compat.install(base_url=v3.url, store=":memory:", allow_insecure_webhooks=True):
                session_id, seen = callback_of(ZoomClient(ZOOM), wav, receiver, url)
        else:
            with GatewayServer(v3.url, store=tmp_path / "gw.sqlite3", allow_insecure_webhooks=True) as gateway:
                session_id, seen = callback_of(ZoomClient(gateway.url), wav, receiver, url)
        deadline = time.monotonic() + 5
        while not v3.webhooks and time.monotonic() < deadline:  # recorded once the receiver has answered
            time.sleep(0.02)
        assert [(w.session_id, w.url, w.method) for w in v3.webhooks] == [(session_id, url, "PUT")]  # V3's webhook
        assert not any(r.path.startswith("/api/v2/") for r in v3.requests)  # no legacy call reached V3
    assert seen == expected(session_id)


def test_the_shims_callback_is_the_legacy_modes_callback(httpserver: HTTPServer, tmp_path: Path) -> None:
    wav = make_wav(tmp_path / "talk.wav")
    receiver = Receiver(httpserver)
    url = httpserver.url_for("/callback")
    with Emulator(v1=True, processing_delay=0.05, transcripts=TRANSCRIPTS, allow_insecure_webhooks=True) as legacy:
        old_id, old = callback_of(ZoomClient(legacy.url), wav, receiver, url)
    receiver.calls.clear()
    with (
        Emulator(processing_delay=0.05, transcripts=TRANSCRIPTS, tokens=[TOKEN]) as v3,
        compat.install(base_url=v3.url, store=":memory:", allow_insecure_webhooks=True),
    ):
        new_id, new = callback_of(ZoomClient(ZOOM), wav, receiver, url)
    assert old == expected(old_id)
    assert new == expected(new_id)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://hooks.example.com/done", "must be an https URL"),
        ("https://127.0.0.1/done", "must name a public host"),
        ("https://localhost/done", "must name a public host"),
    ],
)
def test_a_callback_url_the_api_would_not_call_is_refused_before_anything_goes_upstream(url: str, words: str) -> None:
    with Emulator(tokens=[TOKEN]) as v3, compat.install(base_url=v3.url, store=":memory:"):
        answer = requests.post(
            f"{ZOOM}/api/v2/speech-to-text/session",
            json={"language": "en-us", "callback_url": url},
            headers={"X-Zoom-S2T-Key": TOKEN},
        )
        assert v3.requests == []
    assert answer.status_code == 422
    body = answer.json()
    assert body["error"] == "body-invalid"
    assert body["error_message"].startswith(f"Body Invalid: 'callback_url' {words}")
    assert "allow_insecure_webhooks=True" in body["error_message"]
