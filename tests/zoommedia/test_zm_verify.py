"""``verify`` runs a Zoom Media flow through the shim and compares it with the old behaviour (the emulator's
legacy mode): the status JSON, the captions and every refusal around them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from zm_helpers import TOKEN, TRANSCRIPTS, make_wav

from compat.cli import main
from compat.emulator import DEFAULT_LANGUAGES, Emulator
from compat.staging.verify import ZOOM_CHECKS, verify


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    return make_wav(tmp_path / "talk.wav")


def test_verify_on_the_emulator_compares_the_zoom_media_flow(wav: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["verify", str(wav), "--language", "en-us", "--emulator", "--api", "zoommedia", "--format", "json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "match", report["differences"]
    assert list(report["checks"]) == list(ZOOM_CHECKS)
    statuses = {name: (check["v1"]["status"], check["shim"]["status"]) for name, check in report["checks"].items()}
    assert statuses == {
        "create without a token": (401, 401),
        "create with an unknown token": (401, 401),
        "create with malformed JSON": (415, 415),
        "create with an unknown language": (400, 400),
        "status of an unknown session": (404, 404),
        "captions before the upload": (409, 409),
        "upload without an upload part": (422, 422),
        "a second upload": (400, 400),
        "an Accept nothing serves": (406, 406),
    }
    status = report["shim"]["status"]
    assert status["done"] is True and status["sessionId"] == status["zoom_id"] == "<session_id>"
    words = status["results"][0]["result"]
    assert all(isinstance(word[1], int) for word in words)  # milliseconds on both sides
    assert report["shim"]["captions"]["text"].startswith("WEBVTT\n\n00:00:00.000 --> ")


def test_verify_shows_where_the_shim_differs_from_the_old_api(wav: Path) -> None:
    languages = (*DEFAULT_LANGUAGES, "en-us")
    with (
        Emulator(v1=True, processing_delay=0.05, transcripts=TRANSCRIPTS, tokens=[TOKEN], languages=languages) as old,
        Emulator(processing_delay=0.05, transcripts=TRANSCRIPTS, tokens=[TOKEN], languages=languages) as v3,
    ):
        report = verify(
            wav,
            api="zoommedia",
            language="en-us",
            token=TOKEN,
            content_type="audio/wav",
            v1_base_url=old.url,
            shim_base_url=v3.url,
            poll_interval=0.05,
            store=":memory:",
            time_unit="s",  # not what the old API answered
        )
    assert report.verdict == "mismatch"
    paths = {d.path: (d.v1, d.shim) for d in report.differences}
    assert paths == {
        "$.status.results[0].result[0][2]": (400, 0.4),
        "$.status.results[0].result[1][1]": (500, 0.5),
        "$.status.results[0].result[1][2]": (900, 0.9),
    }  # the captions agree: each side renders its own unit
