"""Item 10: ``verify`` compares refused calls and deletes, not only the final result."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import pytest

from compat.cli import main
from compat.emulator import Emulator
from compat.staging.verify import CHECKS

TOKEN = "verify-item10-token"


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    path = tmp_path / "talk.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(bytes(8000 * 2))
    return path


def test_verify_on_the_emulator_compares_each_refusal_and_the_delete(
    wav: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", str(wav), "--language", "en", "--emulator", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "match"
    assert list(report["checks"]) == list(CHECKS)
    statuses = {name: (check["v1"]["status"], check["shim"]["status"]) for name, check in report["checks"].items()}
    assert statuses == {
        "create without a token": (401, 401),
        "create with an unknown token": (401, 401),
        "create with malformed JSON": (415, 415),
        "create with an unknown language": (400, 400),
        "result of an unknown session": (404, 404),
        "delete": (200, 200),
        "second delete": (400, 400),
        "result after the delete": (404, 404),
    }
    for check in report["checks"].values():
        assert check["v1"]["body"] == check["shim"]["body"]
    deleted = report["checks"]["delete"]["v1"]["body"]
    assert deleted == {
        "count": 1,
        "total_results": 1,
        "result": {
            "duration": 0,
            "error": None,
            "filename": None,
            "media_type": None,
            "status": "deleted",
        },
    }  # session_id and media_url are normalised away, as in results


def test_verify_reports_a_refusal_the_shim_answers_differently(wav: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # V1 knows one token and its language list; the shim's V3 upstream accepts any token and language.
    with Emulator(v1=True, tokens=[TOKEN], processing_delay=0.1) as v1, Emulator(processing_delay=0.1) as v3:
        code = main(
            [
                "verify",
                str(wav),
                "--language",
                "en",
                "--v1-url",
                v1.url,
                "--base-url",
                v3.url,
                "--api-key",
                TOKEN,
            ]
        )
    out = capsys.readouterr().out
    assert code == 1
    assert "[create with an unknown token] $.status: V1 401 != shim 200" in out
    assert "[create with an unknown language] $.status: V1 400 != shim 200" in out
    assert "[create with malformed JSON]" not in out  # those agree
    assert "verdict: mismatch" in out


def test_a_recorded_result_says_that_errors_and_deletes_were_not_compared(
    wav: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["verify", str(wav), "--language", "en", "--emulator", "--format", "json"]) == 0
    recorded = tmp_path / "v1.json"
    recorded.write_text(json.dumps(json.loads(capsys.readouterr().out)["v1"]))
    monkeypatch.setenv("SCRIPTIX_COMPAT_STORE", ":memory:")
    with Emulator(processing_delay=0.1) as v3:
        code = main(
            [
                "verify",
                str(wav),
                "--language",
                "en",
                "--recorded",
                str(recorded),
                "--base-url",
                v3.url,
                "--api-key",
                "t",
            ]
        )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "errors and deletes not compared" in out
