"""The V1-only calls: 410 by default (as after the removal), served V1-style with ``v1=True``."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from emu_helpers import OTHER_TOKEN, TOKEN, auth, make_wav
from pytest_httpserver import HTTPServer

from compat.emulator import Emulator

SESSION_PATH = "/api/v3/speech-to-text/session"
V1_RESULT_KEYS = ["duration", "error", "filename", "media_type", "media_url", "session_id", "status"]


def new_session(emu: Emulator) -> str:
    answer = requests.post(emu.url + SESSION_PATH, json={"language": "en"}, headers=auth())
    body: dict[str, dict[str, str]] = answer.json()
    return body["result"]["session_id"]


def test_default_mode_answers_410(emu: Emulator, tmp_path: Path) -> None:
    media = make_wav(tmp_path / "talk.wav").read_bytes()
    session_id = new_session(emu)
    url = f"{emu.url}{SESSION_PATH}/{session_id}"
    put = requests.put(url, data=media, headers={**auth(), "Content-Type": "audio/wav", "x-filename": "talk.wav"})
    align = requests.post(
        url + "/align",
        files={"media_file": ("a.wav", media, "audio/wav"), "transcript_file": ("t.txt", b"hi", "text/plain")},
    )
    assert align.status_code == 401  # auth first
    align = requests.post(
        url + "/align",
        headers=auth(),
        files={"media_file": ("a.wav", media, "audio/wav"), "transcript_file": ("t.txt", b"hi", "text/plain")},
    )
    source = requests.post(
        emu.url + SESSION_PATH, json={"language": "en", "media_source": "http://127.0.0.1:1/x.wav"}, headers=auth()
    )
    for answer in (put, align, source):
        assert answer.status_code == 410
        assert "Gone" in answer.json()["error"]
    assert emu.session(session_id).status == "new"
    assert len(emu.sessions) == 1


def test_v1_put_answers_the_v1_envelope(tmp_path: Path) -> None:
    media = make_wav(tmp_path / "talk.wav", seconds=1.5)
    with Emulator(v1=True, processing_delay=0.05, tokens=[TOKEN, OTHER_TOKEN]) as emu:
        created = requests.post(emu.url + SESSION_PATH, json={"language": "en"}, headers=auth()).json()
        assert created["count"] == created["total_results"] == 1
        assert list(created["result"]) == V1_RESULT_KEYS
        assert created["result"]["status"] == "new" and created["result"]["duration"] == 0
        session_id = created["result"]["session_id"]
        url = f"{emu.url}{SESSION_PATH}/{session_id}"
        headers = {**auth(), "Content-Type": "audio/wav", "x-filename": "talk.wav"}
        text = requests.put(url, data=b"hello", headers={**headers, "Content-Type": "text/plain"})
        assert text.status_code == 415
        assert requests.put(url, data=media.read_bytes(), headers={**headers, **auth(OTHER_TOKEN)}).status_code == 404
        with open(media, "rb") as stream:
            answer = requests.put(url, data=stream, headers=headers)
        assert answer.status_code == 200
        assert answer.json() == {
            "count": 1,
            "total_results": 1,
            "result": {
                "duration": 0,
                "error": None,
                "filename": "talk.wav",
                "media_type": "audio",
                "media_url": None,
                "session_id": session_id,
                "status": "uploaded",
            },
        }
        again = requests.put(url, data=media.read_bytes(), headers=headers)
        assert again.status_code == 400
        assert emu.wait_for_status(session_id).status == "done"
        result = requests.get(url + "/result", headers=auth()).json()["result"]
        assert result["duration"] == 1.5 and result["results"]


def test_v1_align_uses_the_known_transcript(tmp_path: Path) -> None:
    media = make_wav(tmp_path / "talk.wav", seconds=2.0).read_bytes()
    with Emulator(v1=True, processing_delay=0.05, tokens=[TOKEN, OTHER_TOKEN]) as emu:
        session_id = new_session(emu)
        url = f"{emu.url}{SESSION_PATH}/{session_id}/align"
        missing = requests.post(url, headers=auth(), files={"media_file": ("talk.wav", media, "audio/wav")})
        assert missing.status_code == 422
        answer = requests.post(
            url,
            headers=auth(),
            files={
                "media_file": ("talk.wav", media, "audio/wav"),
                "transcript_file": ("talk.txt", b"the known good words", "text/plain"),
            },
        )
        assert answer.status_code == 200
        assert answer.json()["result"]["status"] == "uploaded"
        done = emu.wait_for_status(session_id)
        assert done.session_mode == "align"
        assert done.results is not None
        assert [w[0] for s in done.results for w in s["result"]] == ["the", "known", "good", "words"]


def test_v1_media_source_is_downloaded_from_localhost(httpserver: HTTPServer, tmp_path: Path) -> None:
    media = make_wav(tmp_path / "talk.wav", seconds=1.0).read_bytes()
    httpserver.expect_request("/media/talk.wav").respond_with_data(media, content_type="audio/wav")
    source = httpserver.url_for("/media/talk.wav")
    with Emulator(v1=True, processing_delay=0.05, tokens=[TOKEN, OTHER_TOKEN]) as emu:
        answer = requests.post(emu.url + SESSION_PATH, json={"language": "en", "media_source": source}, headers=auth())
        assert answer.status_code == 200
        result = answer.json()["result"]
        assert list(result) == V1_RESULT_KEYS
        assert result["status"] == "uploaded" and result["media_type"] == "audio"
        assert result["filename"] == source.replace(":", "-").replace("/", "-")
        assert emu.wait_for_status(result["session_id"]).status == "done"
        remote = {"language": "en", "media_source": "https://example.com/talk.wav"}
        assert requests.post(emu.url + SESSION_PATH, json=remote, headers=auth()).status_code == 400
        missing = {"language": "en", "media_source": httpserver.url_for("/nothing")}
        assert requests.post(emu.url + SESSION_PATH, json=missing, headers=auth()).status_code == 400
        assert len(emu.sessions) == 1


@pytest.mark.parametrize("v1", [False, True])
def test_v1_mode_does_not_change_tus(v1: bool, tmp_path: Path) -> None:
    with Emulator(v1=v1) as emu:
        assert requests.options(emu.url + "/api/v3/files/").status_code == 204
