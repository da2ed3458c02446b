"""``Accept`` on both generations (captions or 406, never a body not asked for) and ``time_unit`` on every surface.

The fake V3 gives the words ``hello`` 0.0-0.5 s and ``world`` 0.6-1.2 s: one cue, 00:00:00.000 -> 00:00:01.200.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from fake_v3 import FakeV3
from zm_helpers import SCRIPTIX, TOKEN, ZOOM, ZoomClient, make_wav

import compat
from compat import LegacyClient
from compat.formats import cues
from compat.gateway import GatewayServer

V1_SESSIONS = "/api/v3/speech-to-text/session"
WORDS = {
    "s": [["hello", 0.0, 0.5, 0.98], ["world", 0.6, 1.2, 0.95]],
    "ms": [["hello", 0, 500, 0.98], ["world", 600, 1200, 0.95]],
}
VTT = "WEBVTT\n\n00:00:00.000 --> 00:00:01.200\nhello world\n"
SRT = "1\n00:00:00,000 --> 00:00:01,200\nhello world\n"


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    return make_wav(tmp_path / "talk.wav")


def done_zoom_session(zoom: ZoomClient, wav: Path) -> str:
    session_id = zoom.create_id()
    assert zoom.upload(session_id, wav).status_code == 200
    for _ in range(3):  # the fake finishes on the second poll after the upload
        zoom.status(session_id)
    return session_id


def done_v1_session(base: str, wav: Path, http: Any = requests) -> str:
    headers = {"x-zoom-s2t-key": TOKEN}
    created = http.post(f"{base}{V1_SESSIONS}", json={"language": "en"}, headers=headers)
    session_id = str(created.json()["result"]["session_id"])
    put = http.put(
        f"{base}{V1_SESSIONS}/{session_id}",
        data=wav.read_bytes(),
        headers={**headers, "Content-Type": "audio/wav", "x-filename": "talk.wav"},
    )
    assert put.status_code == 200, put.text
    for _ in range(3):
        http.get(f"{base}{V1_SESSIONS}/{session_id}/result", headers=headers)
    return session_id


def v1_result(base: str, session_id: str, **headers: str) -> requests.Response:
    return requests.get(f"{base}{V1_SESSIONS}/{session_id}/result", headers={"x-zoom-s2t-key": TOKEN, **headers})


@pytest.fixture(params=["install", "gateway"])
def surface(request: pytest.FixtureRequest, fake: FakeV3, tmp_path: Path) -> Iterator[Any]:
    """A factory: ``surface(**options)`` is a context giving the base URLs (Zoom, Batch V1) the shim serves."""
    from contextlib import contextmanager

    @contextmanager
    def start(**options: Any) -> Iterator[tuple[str, str]]:
        if request.param == "install":
            with compat.install(base_url=fake.base_url, store=":memory:", **options):
                yield ZOOM, SCRIPTIX
        else:
            with GatewayServer(fake.base_url, store=tmp_path / "gw.sqlite3", **options) as gateway:
                yield gateway.url, gateway.url

    yield start


@pytest.mark.parametrize("unit", [None, "s", "ms"])
def test_word_times_follow_time_unit_on_both_generations(surface: Any, wav: Path, unit: str | None) -> None:
    options = {} if unit is None else {"time_unit": unit}
    with surface(**options) as (zoom_base, v1_base):
        zoom = ZoomClient(zoom_base)
        zoom_id = done_zoom_session(zoom, wav)
        zoom_words = zoom.status(zoom_id).json()["results"][0]["result"]
        v1_id = done_v1_session(v1_base, wav)
        v1_words = v1_result(v1_base, v1_id).json()["result"]["results"][0]["result"]
    assert zoom_words == WORDS[unit or "ms"]  # Zoom Media: milliseconds unless told otherwise
    assert v1_words == WORDS[unit or "s"]  # Batch V1: seconds unless told otherwise
    assert all(isinstance(w[1], int) for w in zoom_words) == ((unit or "ms") == "ms")


@pytest.mark.parametrize("unit", ["s", "ms"])
def test_captions_on_both_generations_match_the_words_in_either_unit(surface: Any, wav: Path, unit: str) -> None:
    with surface(time_unit=unit) as (zoom_base, v1_base):
        zoom = ZoomClient(zoom_base)
        zoom_id = done_zoom_session(zoom, wav)
        zoom_json = zoom.status(zoom_id).json()
        zoom_vtt = zoom.status(zoom_id, Accept="text/vtt")
        zoom_srt = zoom.status(zoom_id, Accept="application/x-subrip")
        v1_id = done_v1_session(v1_base, wav)
        v1_json = v1_result(v1_base, v1_id).json()
        v1_vtt = v1_result(v1_base, v1_id, Accept="text/vtt")
        v1_srt = v1_result(v1_base, v1_id, Accept="text/srt;q=0.9, application/json;q=0.1")
    for answer, text, content_type in (
        (zoom_vtt, VTT, "text/vtt; charset=utf-8"),
        (v1_vtt, VTT, "text/vtt; charset=utf-8"),
        (zoom_srt, SRT, "application/x-subrip; charset=utf-8"),
        (v1_srt, SRT, "text/srt; charset=utf-8"),
    ):
        assert answer.status_code == 200
        assert answer.headers["Content-Type"] == content_type
        assert answer.text == text
    # the cue times are the words' own, read in the unit the JSON gave them in
    for body in (zoom_json, v1_json):
        (cue,) = cues(body, time_unit=unit)  # type: ignore[arg-type]
        assert (cue.start, cue.end) == (0.0, 1.2)


def test_an_accept_the_shim_cannot_serve_gets_406_on_both_generations(surface: Any, wav: Path, fake: FakeV3) -> None:
    with surface() as (zoom_base, v1_base):
        zoom = ZoomClient(zoom_base)
        zoom_id = done_zoom_session(zoom, wav)
        v1_id = done_v1_session(v1_base, wav)
        before = len(fake.requests)
        zoom_406 = zoom.status(zoom_id, Accept="text/html")
        v1_406 = v1_result(v1_base, v1_id, Accept="text/html, application/xml;q=0.9")
        assert len(fake.requests) == before  # refused before anything went upstream
        format_406 = requests.get(f"{zoom.base}/{zoom_id}?format=image/png", headers={"X-Zoom-S2T-Key": TOKEN})
        format_vtt = requests.get(f"{zoom.base}/{zoom_id}?format=text/vtt", headers={"X-Zoom-S2T-Key": TOKEN})
        default = v1_result(v1_base, v1_id)  # requests sends Accept: */*: JSON, as before
    assert zoom_406.status_code == 406
    assert zoom_406.json()["error"] == "not-acceptable"
    assert v1_406.status_code == 406
    assert v1_406.headers["Content-Type"] == "application/json"
    assert v1_406.json() == {
        "error": "Not Acceptable: a result is served as application/json, text/vtt, text/srt or application/x-subrip"
    }
    assert format_406.status_code == 406
    assert format_vtt.text == VTT  # the format query parameter of Scriptix's api/v2 takes precedence
    assert default.status_code == 200 and default.json()["result"]["status"] == "done"


def test_captions_of_a_batch_v1_session_not_done_are_a_409(fake: FakeV3) -> None:
    with compat.install(base_url=fake.base_url, store=":memory:"):
        created = requests.post(f"{SCRIPTIX}{V1_SESSIONS}", json={"language": "en"}, headers={"x-zoom-s2t-key": TOKEN})
        session_id = created.json()["result"]["session_id"]
        answer = v1_result(SCRIPTIX, session_id, Accept="text/vtt")
    assert answer.status_code == 409
    assert answer.json() == {
        "error": "Conflict: the session is not done yet; its captions are served once its status is done"
    }


def test_legacy_client_follows_time_unit_too(fake: FakeV3, wav: Path) -> None:
    with LegacyClient(api_key=TOKEN, base_url=fake.base_url, store=":memory:", time_unit="ms") as client:
        session_id = client.create_session("en")["result"]["session_id"]
        client.upload(session_id, wav)
        client.get_result(session_id)
        result = client.get_result(session_id)
        result = client.get_result(session_id)
    assert result["result"]["results"][0]["result"] == WORDS["ms"]
