"""Issue 10, item 8: ``media_url`` was always null, even with ``keep_source: true``.

The V1 docs' example answers a ``keep_source`` + ``media_source`` create with a ``media_url``. V3
shows where it keeps the media as ``media_url`` on the session object (``GET …/session/{id}``) and
in the result. The shim now passes the upstream's value through: in the upload answers (PUT,
``media_source``, ``/align``) it asks the session object once, for ``keep_source`` sessions only;
the result passes on what the result says. The emulator, which showed ``null`` always, now keeps a
``keep_source`` session's media at a URL it serves (no token needed, like a storage URL).
"""

from __future__ import annotations

import json
import wave
from pathlib import Path
from typing import Any

import pytest
import requests
from fake_v3 import FakeV3
from pytest_httpserver import HTTPServer
from werkzeug import Response

from compat import LegacyClient, V3Client
from compat.emulator import Emulator

TOKEN = "item-08-token"


def make_wav(path: Path, seconds: float = 1.0) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(bytes(i % 7 for i in range(int(seconds * 8000) * 2)))
    return path


@pytest.fixture
def emu() -> Any:
    with Emulator(processing_delay=0.1) as emulator:
        yield emulator


def _client(url: str, **options: Any) -> LegacyClient:
    return LegacyClient(api_key=TOKEN, base_url=url, store=":memory:", **options)


# On the emulator ------------------------------------------------------------------------------------


def test_keep_source_upload_answers_a_media_url_that_serves_the_media(emu: Emulator, tmp_path: Path) -> None:
    media = make_wav(tmp_path / "talk.wav")
    with _client(emu.url) as client:
        session_id = client.create_session("en", keep_source=True)["result"]["session_id"]
        uploaded = client.upload(session_id, media)["result"]
        done = client.wait(session_id, timeout=10, poll_interval=0.05)["result"]
    media_url = uploaded["media_url"]
    assert isinstance(media_url, str) and media_url.startswith(emu.url + "/")
    assert done["status"] == "done" and done["media_url"] == media_url
    with V3Client(TOKEN, emu.url, store=":memory:") as v3:
        assert v3.get_session(session_id).media_url == media_url
    fetched = requests.get(media_url, timeout=10)  # no token: a storage URL
    assert fetched.status_code == 200 and fetched.content == media.read_bytes()
    assert fetched.headers["Content-Type"].startswith("audio/")


def test_keep_source_media_source_create_answers_a_media_url_as_the_v1_example_does(
    emu: Emulator, httpserver: HTTPServer, tmp_path: Path
) -> None:
    data = make_wav(tmp_path / "x-file.wav").read_bytes()
    httpserver.expect_request("/x-file.wav").respond_with_data(data, content_type="audio/wav")
    with _client(emu.url, allow_private_media=True) as client:
        answer = client.create_session("en", keep_source=True, media_source=httpserver.url_for("/x-file.wav"))
    result = answer["result"]
    assert result["status"] == "uploaded"
    assert isinstance(result["media_url"], str)
    assert requests.get(result["media_url"], timeout=10).content == data


def test_without_keep_source_media_url_stays_null_and_no_extra_call_is_made(emu: Emulator, tmp_path: Path) -> None:
    media = make_wav(tmp_path / "talk.wav")
    with _client(emu.url) as client:
        session_id = client.create_session("en")["result"]["session_id"]
        before = len(emu.requests)
        uploaded = client.upload(session_id, media)["result"]
        calls = [(r.method, r.path) for r in emu.requests[before:]]
        done = client.wait(session_id, timeout=10, poll_interval=0.05)["result"]
    assert uploaded["media_url"] is None and done["media_url"] is None
    assert ("GET", f"/api/v3/speech-to-text/session/{session_id}") not in calls


def test_a_deleted_session_no_longer_serves_its_kept_media(emu: Emulator, tmp_path: Path) -> None:
    media = make_wav(tmp_path / "talk.wav")
    with _client(emu.url) as client:
        session_id = client.create_session("en", keep_source=True)["result"]["session_id"]
        media_url = client.upload(session_id, media)["result"]["media_url"]
        assert requests.get(media_url, timeout=10).status_code == 200
        client.delete(session_id)
    assert requests.get(media_url, timeout=10).status_code == 404
    guessed = media_url.rsplit("/", 2)[0] + "/not-a-key/talk.wav"
    assert requests.get(guessed, timeout=10).status_code == 404


# On the scripted fake: the upstream's own value, whatever it is ---------------------------------------


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeV3:
    return FakeV3(httpserver, token=TOKEN)


STORED = "https://s3.gra.cloud.ovh.net/scriptix-data-dev/account-1/{sid}-talk.wav"


def _with_media_url(fake: FakeV3, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake's session object and result name a storage URL for keep_source sessions."""
    session_answer, result_answer = fake._session, fake._result

    def add_url(answer: Response, ident: str | None) -> Response:
        session = fake.sessions.get(ident or "")
        if answer.status_code != 200 or session is None or not session.fields.get("keep_source"):
            return answer
        body = json.loads(answer.get_data())
        target = body["result"] if isinstance(body.get("result"), dict) else body
        target["media_url"] = STORED.format(sid=ident)
        return Response(json.dumps(body), status=200, content_type="application/json")

    monkeypatch.setattr(fake, "_session", lambda request, ident: add_url(session_answer(request, ident), ident))
    monkeypatch.setattr(fake, "_result", lambda request, ident: add_url(result_answer(request, ident), ident))


def test_the_upstream_media_url_is_passed_through(
    fake: FakeV3, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _with_media_url(fake, monkeypatch)
    media = tmp_path / "talk.wav"
    media.write_bytes(b"RIFF" + bytes(1000))
    with _client(fake.base_url) as client:
        session_id = client.create_session("en", keep_source=True)["result"]["session_id"]
        uploaded = client.upload(session_id, media)["result"]
        result = client.get_result(session_id)["result"]
    assert uploaded["media_url"] == result["media_url"] == STORED.format(sid=session_id)


def test_a_failed_lookup_leaves_media_url_null_and_the_upload_done(fake: FakeV3, tmp_path: Path) -> None:
    fake.fail("GET", "session", 404)
    media = tmp_path / "talk.wav"
    media.write_bytes(b"RIFF" + bytes(1000))
    with _client(fake.base_url) as client:
        session_id = client.create_session("en", keep_source=True)["result"]["session_id"]
        uploaded = client.upload(session_id, media)["result"]
    assert uploaded["status"] == "uploaded" and uploaded["media_url"] is None
    assert fake.only_upload().session_id == session_id
