"""The shim's Zoom Media answers are the golden fixtures of ``tests/golden/zoommedia/``, byte for byte.

The same flows as ``tests/emulator/test_emu_zoommedia_golden.py`` (which holds the emulator's legacy mode to
these files), made through the shim, ``compat.install()`` and the gateway alike, onto the emulator in V3
mode: its Zoom Media routes answer 410, so every answer below is the shim's own translation.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from zm_helpers import GOLDEN, OTHER, ZOOM, ZoomClient, assert_golden, make_wav, zoom_headers

import compat
from compat.emulator import Emulator
from compat.gateway import GatewayServer

SURFACES = ("install", "gateway")
EMULATOR_ONLY = ("error_410_gone.json",)
"""Fixtures only the emulator answers: 410 is its V3 mode's answer to these routes, which the shim serves."""


@contextmanager
def shim(surface: str, emulator: Emulator, tmp_path: Path) -> Iterator[ZoomClient]:
    """A Zoom Media client whose calls the shim serves on ``emulator`` (V3)."""
    if surface == "install":
        with compat.install(base_url=emulator.url, store=":memory:"):
            yield ZoomClient(ZOOM)
        return
    with GatewayServer(emulator.url, store=tmp_path / "state.sqlite3") as gateway:
        yield ZoomClient(gateway.url)


def wait_done(client: ZoomClient, session_id: str) -> None:
    for _ in range(400):
        if client.status(session_id).json().get("done") is True:
            return
        time.sleep(0.025)
    raise AssertionError(f"{session_id} never done")


@pytest.mark.parametrize("surface", SURFACES)
def test_the_flow(surface: str, v3_emulator: Emulator, tmp_path: Path) -> None:
    wav = make_wav(tmp_path / "talk.wav", seconds=1.0)
    with shim(surface, v3_emulator, tmp_path) as zoom:
        created = zoom.create()
        session_id = created.json()["zoom_id"]
        assert_golden(created, 200, "create.json", session_id=session_id)
        assert_golden(zoom.status(session_id), 200, "status_not_done.json", session_id=session_id)
        assert_golden(zoom.status(session_id, Accept="text/vtt"), 409, "error_409_not_done.json")
        assert_golden(zoom.upload(session_id, wav), 200, "upload.json", session_id=session_id)
        wait_done(zoom, session_id)
        assert_golden(zoom.status(session_id), 200, "status_done_ms.json", session_id=session_id)
        vtt = zoom.status(session_id, Accept="text/vtt")
        assert_golden(vtt, 200, "captions_done.vtt")
        assert vtt.headers["Content-Type"] == "text/vtt; charset=utf-8"
        assert_golden(zoom.status(session_id, Accept="text/srt"), 200, "captions_done.srt")
        assert_golden(zoom.upload(session_id, wav), 400, "error_400_already_uploaded.json")
        assert_golden(zoom.status(session_id, Accept="image/png"), 406, "error_406.json")


@pytest.mark.parametrize("surface", SURFACES)
def test_the_failed_session(surface: str, v3_emulator: Emulator, tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_bytes(b"not media")
    with shim(surface, v3_emulator, tmp_path) as zoom:
        session_id = zoom.create_id()
        assert zoom.upload(session_id, junk).status_code == 200  # the old API took any file
        wait_done(zoom, session_id)
        assert_golden(zoom.status(session_id), 200, "status_failed.json", session_id=session_id)


@pytest.mark.parametrize("surface", SURFACES)
def test_the_errors(surface: str, v3_emulator: Emulator, tmp_path: Path) -> None:
    with shim(surface, v3_emulator, tmp_path) as zoom:
        assert_golden(zoom.create(token=None), 401, "error_401.json")  # missing token
        assert_golden(zoom.create(token="not-a-listed-token"), 401, "error_401.json")  # unknown: the same
        assert_golden(zoom.create(language="xx-xx"), 400, "error_400_invalid_language.json")
        not_json = requests.post(zoom.base, data=b"{", headers=zoom_headers(**{"Content-Type": "application/json"}))
        assert_golden(not_json, 415, "error_415_not_json.json")
        assert_golden(zoom.status("0" * 26), 404, "error_404.json")
        session_id = zoom.create_id()
        assert_golden(zoom.status(session_id, token=OTHER), 404, "error_404.json")  # another token's
        url = f"{zoom.base}/{session_id}"
        no_part = requests.post(url, files={"media": ("talk.wav", b"RIFF")}, headers=zoom_headers())
        assert_golden(no_part, 422, "error_422_no_upload_part.json")
        empty = requests.post(url, files={"upload": ("talk.wav", b"")}, headers=zoom_headers())
        assert_golden(empty, 400, "error_400_empty_upload.json")
        raw = requests.post(url, data=b"RIFF", headers=zoom_headers(**{"Content-Type": "audio/wav"}))
        assert_golden(raw, 415, "error_415_upload_type.json")
        # none of those refusals used the session up: it still takes its media
        wav = make_wav(tmp_path / "talk.wav")
        assert_golden(zoom.upload(session_id, wav), 200, "upload.json", session_id=session_id)


def test_every_fixture_is_checked_or_named_as_the_emulators_own() -> None:
    names = {p.name for p in GOLDEN.iterdir() if p.name != "README.md"}
    lines = Path(__file__).read_text().splitlines()
    source = "\n".join(line for line in lines if not line.startswith("EMULATOR_ONLY ="))
    checked = {n for n in names if f'"{n}"' in source}
    assert checked | set(EMULATOR_ONLY) == names
    assert checked.isdisjoint(EMULATOR_ONLY)
