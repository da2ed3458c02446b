"""The emulator's Zoom Media answers are the golden fixtures of ``tests/golden/zoommedia/``, byte for byte.

Each fixture is one answer shape we decided (see ``compat.emulator.zoommedia_api`` and MIGRATION.md,
"The Zoom Media API v1/v2 generation"); the shim's Zoom Media front door is held to the same files.
A fixture is the exact body after ``<session_id>`` is filled in (a JSON file's final newline is not part
of it; a captions file is the body as it is).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from emu_helpers import make_wav
from zoom_helpers import Zoom, zoom_headers

from compat.emulator import Emulator

GOLDEN = Path(__file__).parents[1] / "golden" / "zoommedia"
# The "done" fixture: this script over the 1 s WAV of make_wav gives two words at fixed times
TRANSCRIPTS = {"talk.wav": "hello world"}


def golden(name: str, **values: str) -> bytes:
    text = (GOLDEN / name).read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace(f"<{key}>", value)
    if name.endswith(".json"):
        assert text.endswith("}\n"), name
        text = text[:-1]
    return text.encode("utf-8")


def assert_golden(answer: requests.Response, status: int, name: str, **values: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.content == golden(name, **values)


@pytest.fixture
def legacy() -> Iterator[Emulator]:
    with Emulator(v1=True, processing_delay=0.05, transcripts=TRANSCRIPTS) as emulator:
        yield emulator


def test_the_flow(legacy: Emulator, tmp_path: Path) -> None:
    wav = make_wav(tmp_path / "talk.wav", seconds=1.0)
    zoom = Zoom(legacy)
    created = zoom.create()
    session_id = created.json()["zoom_id"]
    assert_golden(created, 200, "create.json", session_id=session_id)
    assert_golden(zoom.status(session_id), 200, "status_not_done.json", session_id=session_id)
    assert_golden(zoom.status(session_id, Accept="text/vtt"), 409, "error_409_not_done.json")
    assert_golden(zoom.upload(session_id, wav), 200, "upload.json", session_id=session_id)
    legacy.wait_for_status(session_id)
    assert_golden(zoom.status(session_id), 200, "status_done_ms.json", session_id=session_id)
    vtt = zoom.status(session_id, Accept="text/vtt")
    assert_golden(vtt, 200, "captions_done.vtt")
    assert vtt.headers["Content-Type"] == "text/vtt; charset=utf-8"
    assert_golden(zoom.status(session_id, Accept="text/srt"), 200, "captions_done.srt")
    assert_golden(zoom.upload(session_id, wav), 400, "error_400_already_uploaded.json")
    assert_golden(zoom.status(session_id, Accept="image/png"), 406, "error_406.json")


def test_the_failed_session(legacy: Emulator, tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_bytes(b"not media")
    zoom = Zoom(legacy)
    session_id = zoom.create_id()
    zoom.upload(session_id, junk)
    legacy.wait_for_status(session_id, "failed")
    assert_golden(zoom.status(session_id), 200, "status_failed.json", session_id=session_id)


def test_the_errors(legacy: Emulator, tmp_path: Path) -> None:
    zoom = Zoom(legacy)
    assert_golden(zoom.create(token=None), 401, "error_401.json")  # missing token
    assert_golden(zoom.create(token="not-a-listed-token"), 401, "error_401.json")  # bad token: the same answer
    assert_golden(zoom.create(language="xx-xx"), 400, "error_400_invalid_language.json")
    not_json = requests.post(zoom.base, data=b"{", headers=zoom_headers(**{"Content-Type": "application/json"}))
    assert_golden(not_json, 415, "error_415_not_json.json")
    assert_golden(zoom.status("0" * 26), 404, "error_404.json")
    session_id = zoom.create_id()
    url = f"{zoom.base}/{session_id}"
    no_part = requests.post(url, files={"media": ("talk.wav", b"RIFF")}, headers=zoom_headers())
    assert_golden(no_part, 422, "error_422_no_upload_part.json")
    empty = requests.post(url, files={"upload": ("talk.wav", b"")}, headers=zoom_headers())
    assert_golden(empty, 400, "error_400_empty_upload.json")
    raw = requests.post(url, data=b"RIFF", headers=zoom_headers(**{"Content-Type": "audio/wav"}))
    assert_golden(raw, 415, "error_415_upload_type.json")


def test_gone_outside_the_legacy_mode() -> None:
    with Emulator() as emu:
        assert_golden(Zoom(emu).create(token="any"), 410, "error_410_gone.json")


def test_every_fixture_is_checked() -> None:
    names = {p.name for p in GOLDEN.iterdir() if p.name != "README.md"}
    source = Path(__file__).read_text()
    assert names == {n for n in names if f'"{n}"' in source}
