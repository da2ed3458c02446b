"""The gateway as a real process: killed mid-job and restarted, and stopped gracefully by a signal."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from fake_v3 import FakeV3
from gateway_helpers import OTHER, SESSIONS, TOKEN, GatewayProcess, wait_until
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

AUTH = {"x-zoom-s2t-key": TOKEN}
BACKGROUND = ("--allow-private-media", "--media-source-mode", "background")


def status_of(gateway: GatewayProcess, session_id: str, token: str = TOKEN) -> str:
    response = requests.get(f"{gateway.url}{SESSIONS}/{session_id}/result", headers={"x-zoom-s2t-key": token})
    response.raise_for_status()
    return str(response.json()["result"]["status"])


def serve_media(server: HTTPServer, data: bytes, *, hold_first: threading.Event | None, held: threading.Event) -> str:
    """``/talk.mp3``; the first download sends 100 KiB, sets ``held`` and waits for ``hold_first``."""
    calls: list[int] = []

    def media(request: Request) -> Response:
        calls.append(1)
        first = len(calls) == 1

        def blocks() -> Iterator[bytes]:
            yield data[: 100 * 1024]
            if first and hold_first is not None:
                held.set()
                hold_first.wait(15)
            yield data[100 * 1024 :]

        return Response(blocks(), content_type="audio/mpeg", headers={"Content-Length": str(len(data))})

    server.expect_request("/talk.mp3").respond_with_handler(media)
    return server.url_for("/talk.mp3")


def hold_second_patch(fake: FakeV3, release: threading.Event, held: threading.Event) -> None:
    """The upstream takes the first 64 KiB chunk, then holds the second PATCH until ``release``."""
    original = fake._tus_upload
    calls: list[int] = []

    def holding(request: Request, ident: str | None) -> Response:
        calls.append(1)
        if len(calls) == 2:
            held.set()
            release.wait(15)
        return original(request, ident)

    fake._tus_upload = holding  # type: ignore[method-assign]


@pytest.mark.parametrize("phase", ["download", "tus-upload"])
def test_a_media_source_job_survives_a_killed_gateway_and_finishes_on_the_owners_next_call(
    phase: str, fake: FakeV3, media_server: HTTPServer, tmp_path: Path
) -> None:
    data = os.urandom(400 * 1024)
    release, held = threading.Event(), threading.Event()
    url = serve_media(media_server, data, hold_first=release if phase == "download" else None, held=held)
    if phase == "tus-upload":
        hold_second_patch(fake, release, held)
    store = tmp_path / "state.sqlite3"
    lease = {"SCRIPTIX_COMPAT_CLAIM_LEASE": "2"}  # the killed holder's claim lapses 2 s after its last renewal
    first = GatewayProcess(fake.base_url, store, *BACKGROUND, env=lease)
    try:
        created = requests.post(
            f"{first.url}{SESSIONS}", json={"language": "en", "media_source": url}, headers=AUTH, timeout=30
        )
        assert created.status_code == 200, created.text
        assert created.json()["result"]["status"] == "uploading"
        session_id = created.json()["result"]["session_id"]
        assert held.wait(15), first.log()  # the job is in flight: mid-download, or mid-upload
    finally:
        first.kill()  # SIGKILL: no clean-up of any kind
    release.set()
    if phase == "tus-upload":
        assert 0 < len(fake.only_upload().data) < len(data)

    second = GatewayProcess(fake.base_url, store, *BACKGROUND, port=first.port, env=lease)
    try:
        assert status_of(second, session_id) == "uploading"  # picked up by the owner's call, once the lease ran out
        with pytest.raises(requests.HTTPError) as stranger:
            status_of(second, session_id, token=OTHER)  # a stranger neither sees nor starts it
        assert stranger.value.response.status_code == 404
        wait_until(lambda: status_of(second, session_id) != "uploading", timeout=20)
        assert status_of(second, session_id) == "new"  # uploaded: upstream's word from now on
    finally:
        second.terminate()
        assert second.wait() == 0
    assert fake.count("POST", "session-create") == 1 and list(fake.sessions) == [session_id]
    if phase == "tus-upload":
        assert fake.count("POST", "tus-create") == 1
        assert fake.count("HEAD", "tus-head") >= 1  # resumed from the server's offset, not started again
    else:
        # The media goes up as it is fetched: the killed gateway may have created its TUS upload
        # just before the kill, too late to record it. Such an upload is empty and never completes
        # (the server expires it); no byte goes up twice.
        assert fake.count("POST", "tus-create") <= 2
        assert all(not upload.data for upload in fake.uploads.values() if not upload.complete)
    [upload] = [upload for upload in fake.uploads.values() if upload.complete]
    assert bytes(upload.data) == data
    assert upload.metadata["session_id"] == session_id
    assert fake.v1_calls == []


class _SlowBody:
    """A request body that stops at half way until ``go_on`` is set."""

    def __init__(self, data: bytes, halfway: threading.Event, go_on: threading.Event) -> None:
        self._data = data
        self._position = 0
        self._halfway = halfway
        self._go_on = go_on

    def __len__(self) -> int:
        return len(self._data)

    def read(self, size: int = -1) -> bytes:
        if self._position >= len(self._data) // 2 and not self._go_on.is_set():
            self._halfway.set()
            self._go_on.wait(15)
        block = self._data[self._position : self._position + (size if size > 0 else len(self._data))]
        self._position += len(block)
        return block


def test_sigterm_lets_a_put_in_flight_finish_then_exits_0(fake: FakeV3, tmp_path: Path) -> None:
    gateway = GatewayProcess(fake.base_url, tmp_path / "state.sqlite3", "--drain-timeout", "30")
    try:
        session_id = requests.post(f"{gateway.url}{SESSIONS}", json={"language": "en"}, headers=AUTH).json()["result"][
            "session_id"
        ]
        data = os.urandom(4 * 1024 * 1024)
        halfway, go_on = threading.Event(), threading.Event()
        answer: dict[str, Any] = {}

        def put() -> None:
            answer["response"] = requests.put(
                f"{gateway.url}{SESSIONS}/{session_id}",
                data=_SlowBody(data, halfway, go_on),
                headers={**AUTH, "x-filename": "talk.wav", "Content-Type": "audio/wav"},
                timeout=60,
            )

        client = threading.Thread(target=put)
        client.start()
        assert halfway.wait(15)
        time.sleep(0.3)  # the first half is in the gateway
        fake.fail("PATCH", "tus-upload", ("stall", 0.5))  # and the upstream is slow: both phases are in flight
        gateway.terminate()
        assert gateway.refuses_connections()  # no new connections once stopping
        assert gateway.process.poll() is None  # but the PUT is still being served
        go_on.set()
        client.join(60)
        response = answer["response"]
        assert response.status_code == 200, response.text
        assert response.json()["result"]["status"] == "uploaded"
        assert gateway.wait(30) == 0
    finally:
        gateway.kill()
    assert bytes(fake.only_upload().data) == data
    assert "SIGTERM: stopping gracefully" in gateway.log()


def test_sigint_waits_for_a_background_media_source_transfer_then_exits_0(
    fake: FakeV3, media_server: HTTPServer, tmp_path: Path
) -> None:
    data = os.urandom(300 * 1024)
    release, held = threading.Event(), threading.Event()
    url = serve_media(media_server, data, hold_first=release, held=held)
    gateway = GatewayProcess(fake.base_url, tmp_path / "state.sqlite3", *BACKGROUND, "--drain-timeout", "30")
    try:
        created = requests.post(f"{gateway.url}{SESSIONS}", json={"language": "en", "media_source": url}, headers=AUTH)
        assert created.json()["result"]["status"] == "uploading"
        assert held.wait(15)
        gateway.process.send_signal(signal.SIGINT)
        assert gateway.refuses_connections()
        time.sleep(0.3)
        assert gateway.process.poll() is None  # still waiting for the transfer
        release.set()
        assert gateway.wait(30) == 0
    finally:
        release.set()
        gateway.kill()
    assert bytes(fake.only_upload().data) == data
    assert "SIGINT: stopping gracefully" in gateway.log()
