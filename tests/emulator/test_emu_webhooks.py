"""Webhooks the V1 way: headers, body, method, retries on the (compressed) documented schedule."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from emu_helpers import TOKEN, eventually, make_wav
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

from compat import LegacyClient, V3Client
from compat.emulator import Emulator

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # LegacyV1Warning at each V1 call


class Receiver:
    """Answers the scripted statuses in turn (then 200) and records when each call came."""

    def __init__(self, httpserver: HTTPServer, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.calls: list[tuple[float, Request, bytes]] = []
        httpserver.expect_request("/hook").respond_with_handler(self)

    def __call__(self, request: Request) -> Response:
        self.calls.append((time.monotonic(), request, request.get_data()))
        return Response("ok" if not self.statuses else "no", status=self.statuses.pop(0) if self.statuses else 200)


def test_webhook_headers_body_method_and_retry(httpserver: HTTPServer, tmp_path: Path) -> None:
    receiver = Receiver(httpserver, 500)
    media = make_wav(tmp_path / "talk.wav", seconds=1.0)
    with Emulator(processing_delay=0.05, webhook_speed=600) as emu:
        # The receiver is http://localhost: a webhook V1 refused, so the test opts in.
        with LegacyClient(api_key=TOKEN, base_url=emu.url, store=":memory:", allow_insecure_webhooks=True) as client:
            session_id = client.create_session(
                "en",
                webhook_url=httpserver.url_for("/hook"),
                webhook_method="PUT",
                webhook_headers=["X-Custom-Auth: s3cret", "X-Scriptix-Session: spoofed"],
            )["result"]["session_id"]
            client.upload(session_id, media)
            eventually(lambda: len(receiver.calls) >= 2, timeout=5)
        time.sleep(0.2)
        attempts = [(d.attempt, d.status) for d in emu.webhooks]
        finished_at = emu.session(session_id).finished_at
        first_try, retry = emu.webhooks
    assert attempts == [(1, 500), (2, 200)]  # delivered: no third attempt
    assert (first_try.due, retry.due) == pytest.approx((0.0, 0.1))  # 0 and 1 minute, / 600
    assert finished_at is not None and retry.started_at - finished_at >= 0.1 - 0.01
    (first_at, first, first_body), (second_at, second, second_body) = receiver.calls
    for request, body in ((first, first_body), (second, second_body)):
        assert request.method == "PUT"
        assert request.headers["X-Scriptix-Session"] == session_id  # custom headers cannot override
        assert request.headers["X-Zoom-Session"] == session_id
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers["X-Custom-Auth"] == "s3cret"
        assert json.loads(body) == {"sessionId": session_id, "zoom_id": session_id}
    assert 0 < second_at - first_at < 2.0


def test_webhook_from_upload_document_metadata(httpserver: HTTPServer, tmp_path: Path) -> None:
    receiver = Receiver(httpserver)
    media = make_wav(tmp_path / "talk.wav", seconds=0.5)
    document = json.dumps({"webhook_url": httpserver.url_for("/hook"), "webhook_headers": ["X-Tag: v3"]})
    metadata = {"language": "en", "document_type": "caption", "filename": "talk.wav", "document": document}
    with Emulator(processing_delay=0.05) as emu, V3Client(api_key=TOKEN, base_url=emu.url, store=":memory:") as c:
        session_id = c.upload(media, metadata).session_id
        assert session_id
        eventually(lambda: receiver.calls, timeout=5)
        assert emu.session(session_id).webhook_url == httpserver.url_for("/hook")
    (_, request, body) = receiver.calls[0]
    assert request.method == "POST"  # the default
    assert request.headers["X-Tag"] == "v3"
    assert json.loads(body)["sessionId"] == session_id


def test_webhook_gives_up_after_the_schedule(httpserver: HTTPServer, tmp_path: Path) -> None:
    receiver = Receiver(httpserver, *([503] * 10))
    media = make_wav(tmp_path / "talk.wav", seconds=0.5)
    hook = httpserver.url_for("/hook")
    with Emulator(processing_delay=0.0, webhook_speed=6000) as emu:  # 53 minutes in 0.53 s
        with V3Client(api_key=TOKEN, base_url=emu.url, store=":memory:") as client:
            session_id = client.create_session(language="en", webhook_url=hook).session_id
            client.upload(media, {"language": "en", "document_type": "caption", "session_id": session_id})
        eventually(lambda: len(emu.webhooks) >= 6, timeout=5)
        time.sleep(0.3)
        assert [d.attempt for d in emu.webhooks] == [1, 2, 3, 4, 5, 6]
    assert len(receiver.calls) == 6
    dues = [d.due for d in emu.webhooks]
    assert dues == pytest.approx([0.0, 0.01, 0.03, 0.08, 0.23, 0.53])  # 0, 1, 3, 8, 23, 53 min / 6000
    offsets = [at - receiver.calls[0][0] for at, _, _ in receiver.calls]
    assert offsets[-1] == pytest.approx(0.53, abs=0.25)


def test_no_retry_once_the_session_is_deleted(httpserver: HTTPServer, tmp_path: Path) -> None:
    receiver = Receiver(httpserver, *([500] * 10))
    media = make_wav(tmp_path / "talk.wav", seconds=0.5)
    hook = httpserver.url_for("/hook")
    with Emulator(processing_delay=0.0, webhook_speed=200) as emu:
        with V3Client(api_key=TOKEN, base_url=emu.url, store=":memory:") as client:
            session_id = client.create_session(language="en", webhook_url=hook).session_id
            client.upload(media, {"language": "en", "document_type": "caption", "session_id": session_id})
            eventually(lambda: receiver.calls, timeout=5)
            client.delete_session(session_id)
        time.sleep(0.7)  # attempts 2 and 3 were due at 0.3 s and 0.9 s after completion
        assert [d.attempt for d in emu.webhooks] == [1]
    assert len(receiver.calls) == 1
