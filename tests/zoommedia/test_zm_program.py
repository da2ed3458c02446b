"""Acceptance: a Zoom Media program written from zoommedia.md with plain ``requests`` runs unchanged on V3.

With ``compat.install()`` (against ``https://api.zoommedia.ai``, the program's own host) and through the
gateway with only the host changed; the upstream is a fake V3 that answers 410 to every legacy call and
records it in ``v1_calls``, so a call the shim did not serve shows up there.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from fake_v3 import FakeV3
from pytest_httpserver import HTTPServer
from zm_helpers import TOKEN, ZOOM, make_wav
from zoommedia_program import ZoomRun, make_timestamp, transcribe

import compat
from compat.gateway import GatewayServer
from compat.media import media_filename

CALLBACK = "https://hooks.example.com/zoom/done"
WORDS_MS = [["hello", 0, 500, 0.98], ["world", 600, 1200, 0.95]]  # the fake's words, in milliseconds
CAPTIONS = "WEBVTT\n\n00:00:00.000 --> 00:00:01.200\nhello world\n"


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    return make_wav(tmp_path / "talk.wav", seconds=2.0)


@pytest.fixture
def media_host() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        server.stop()


def check_run(run: ZoomRun, fake: FakeV3, media: bytes, filename: str) -> None:
    """What the program saw is the old API's, and underneath went V3 only: one TUS upload of the very bytes."""
    zoom_id = run.zoom_id
    assert run.created.json() == {"language": "en-us", "sessionId": zoom_id, "zoom_id": zoom_id}
    assert run.uploaded.json() == {"language": "en-us", "sessionId": zoom_id, "zoom_id": zoom_id}
    assert run.polls[0].json() == {
        "language": "en-us",
        "sessionId": zoom_id,
        "zoom_id": zoom_id,
        "done": False,
        "results": [],
    }
    assert run.polls[-1].json()["done"] is True
    assert [segment["result"] for segment in run.transcript] == [WORDS_MS]
    assert run.fulltext == "hello world"
    assert make_timestamp(run.transcript[0]["result"][1][1]) == "00:00:00.600"
    assert run.captions is not None
    assert run.captions.status_code == 200
    assert run.captions.headers["Content-Type"] == "text/vtt; charset=utf-8"
    assert run.captions.text == CAPTIONS
    assert fake.v1_calls == []
    upload = fake.only_upload()
    assert bytes(upload.data) == media
    assert upload.metadata["session_id"] == zoom_id
    assert upload.metadata["filename"] == filename
    assert upload.metadata["language"] == "en-us"


def test_the_program_runs_unchanged_with_install(fake: FakeV3, wav: Path) -> None:
    with compat.install(base_url=fake.base_url, store=":memory:", chunk_size=64 * 1024):
        run = transcribe(ZOOM, TOKEN, media=wav, callback_url=CALLBACK, callback_headers=["X-Job: 42"])
    check_run(run, fake, wav.read_bytes(), "talk.wav")
    assert fake.only_upload().metadata["filetype"] == "audio/x-wav"
    # The callback became the V3 webhook of the session; callback_format is kept in meta_data.
    fields = fake.sessions[run.zoom_id].fields
    assert fields["webhook_url"] == CALLBACK
    assert fields["webhook_method"] == "POST"
    assert fields["webhook_headers"] == ["X-Job: 42"]
    assert fields["meta_data"] == {"callback_format": "text/vtt"}
    assert not any(name.startswith("callback_") for name in fields)


def test_the_program_runs_through_the_gateway_with_only_the_host_changed(
    fake: FakeV3, wav: Path, tmp_path: Path
) -> None:
    with GatewayServer(fake.base_url, store=tmp_path / "state.sqlite3", chunk_size=64 * 1024) as gateway:
        run = transcribe(
            gateway.url, TOKEN, media=wav, version="v1", callback_url=CALLBACK, token_header="X-Zoom-S2T-Token"
        )
    check_run(run, fake, wav.read_bytes(), "talk.wav")
    assert fake.sessions[run.zoom_id].fields["webhook_url"] == CALLBACK


def test_a_media_that_streams_with_a_deferred_length(upstream: HTTPServer, wav: Path) -> None:
    fake = FakeV3(upstream, token=TOKEN, defer_length=True)
    from zm_helpers import finish_when_uploaded

    finish_when_uploaded(fake)
    media = wav.parent / "big.wav"
    media.write_bytes(wav.read_bytes() + os.urandom(300 * 1024))
    with compat.install(base_url=fake.base_url, store=":memory:", chunk_size=64 * 1024):
        run = transcribe(ZOOM, TOKEN, media=media)
    check_run(run, fake, media.read_bytes(), "big.wav")
    upload = fake.only_upload()
    assert upload.deferred  # the part's length is not known while it arrives: Upload-Defer-Length
    assert fake.count("PATCH", "tus-upload") > 1


def serve_media(media_host: HTTPServer, wav: Path) -> str:
    media_host.expect_request("/media/talk.wav").respond_with_data(wav.read_bytes(), content_type="audio/wav")
    return media_host.url_for("/media/talk.wav")


def test_the_same_flow_by_video_url_with_install(fake: FakeV3, wav: Path, media_host: HTTPServer) -> None:
    url = serve_media(media_host, wav)
    with compat.install(base_url=fake.base_url, store=":memory:", allow_private_media=True):
        run = transcribe(ZOOM, TOKEN, video_url=url)
    check_run(run, fake, wav.read_bytes(), media_filename(url))


def test_the_same_flow_by_video_url_through_the_gateway(
    fake: FakeV3, wav: Path, media_host: HTTPServer, tmp_path: Path
) -> None:
    url = serve_media(media_host, wav)
    with GatewayServer(fake.base_url, store=tmp_path / "state.sqlite3", allow_private_media=True) as gateway:
        run = transcribe(gateway.url, TOKEN, video_url=url)
    check_run(run, fake, wav.read_bytes(), media_filename(url))


def test_a_loopback_video_url_is_refused_without_the_option(fake: FakeV3, wav: Path, media_host: HTTPServer) -> None:
    url = serve_media(media_host, wav)
    with compat.install(base_url=fake.base_url, store=":memory:"):
        session = requests.post(
            f"{ZOOM}/api/v2/speech-to-text/session", json={"language": "en-us"}, headers={"X-Zoom-S2T-Key": TOKEN}
        )
        zoom_id = session.json()["zoom_id"]
        refused = requests.post(
            f"{ZOOM}/api/v2/speech-to-text/session/{zoom_id}",
            json={"video_url": url},
            headers={"X-Zoom-S2T-Key": TOKEN},
        )
    assert refused.status_code == 422
    assert refused.json()["error"] == "body-invalid"
    assert refused.json()["error_message"].startswith("Body Invalid: video_url must be a public http(s) URL")
    assert media_host.log == []  # nothing was fetched
    assert fake.uploads == {}
    assert fake.v1_calls == []
