"""The toolkit's CLI commands: scan, report, doctor, verify (with the embedded emulator)."""

from __future__ import annotations

import json
import math
import struct
import wave
from pathlib import Path

import pytest

from compat.cli import main

SAMPLE_REPO = Path(__file__).with_name("sample_repo")


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    path = tmp_path / "verify.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"".join(struct.pack("<h", int(5000 * math.sin(i / 10))) for i in range(24000)))
    return path


def test_verify_on_the_emulator_matches(wav: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(wav), "--language", "en", "--emulator", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "match" and report["differences"] == []
    assert report["v1"]["result"]["status"] == "done"
    assert report["v1"]["result"]["results"] == report["shim"]["result"]["results"]


def test_verify_against_a_recorded_result_shows_each_difference(
    wav: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from compat.emulator import Emulator

    assert main(["verify", str(wav), "--language", "en", "--emulator", "--format", "json"]) == 0
    recorded_result = json.loads(capsys.readouterr().out)["v1"]
    recorded_result["result"]["results"][0]["result"][0][0] = "different"
    recorded = tmp_path / "v1.json"
    recorded.write_text(json.dumps(recorded_result))
    monkeypatch.setenv("SCRIPTIX_COMPAT_STORE", ":memory:")
    with Emulator(processing_delay=0.1) as emulator:
        code = main(
            [
                "verify",
                str(wav),
                "--language",
                "en",
                "--recorded",
                str(recorded),
                "--base-url",
                emulator.url,
                "--api-key",
                "t",
            ]
        )
    out = capsys.readouterr().out
    assert code == 1
    assert "verdict: mismatch (1 differences)" in out
    assert '$.result.results[0].result[0][0]: V1 "different" != shim' in out


def test_scan_and_report_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", str(SAMPLE_REPO), "--format", "json"]) == 0
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert {f["operation"] for f in findings} >= {"upload", "media_source", "align"}
    assert main(["scan", str(SAMPLE_REPO), "--fail-on-findings"]) == 1
    capsys.readouterr()
    report = tmp_path / "usage.json"
    report.write_text(
        json.dumps(
            {
                "calls": [
                    {
                        "operation": "upload",
                        "file": "a.py",
                        "line": 3,
                        "function": "f",
                        "count": 2,
                        "first_seen": "2026-01-01T00:00:00+00:00",
                        "last_seen": "2026-01-01T00:00:00+00:00",
                        "replacement": "x",
                    }
                ]
            }
        )
    )
    assert main(["report", str(report)]) == 0
    assert "a.py:3" in capsys.readouterr().out
    assert main(["report", str(tmp_path / "missing.json")]) == 1
    assert "no report" in capsys.readouterr().err


def test_doctor_command_without_upstream(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = str(tmp_path / "s.sqlite3")
    assert main(["doctor", "--no-upstream", "--store", store, "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["upstream"] == {"skipped": True}
    assert {row["option"]: row["source"] for row in result["settings"]}["store"] == "keyword store="
