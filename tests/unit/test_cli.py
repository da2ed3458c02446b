"""The scriptix-compat command: transcribe against the fake V3, exit codes and messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_v3 import FakeV3
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from compat.cli import EXIT_ERROR, EXIT_OK, EXIT_USAGE, EXIT_WAIT_TIMEOUT, main

TOKEN = "cli-token"


@pytest.fixture
def fake(httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeV3:
    monkeypatch.setenv("SCRIPTIX_COMPAT_STORE", str(tmp_path / "state.sqlite3"))
    monkeypatch.setenv("SCRIPTIX_COMPAT_CHUNK_SIZE", "64KiB")
    monkeypatch.delenv("SCRIPTIX_API_KEY", raising=False)
    return FakeV3(httpserver, token=TOKEN)


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    path = tmp_path / "talk.wav"
    path.write_bytes(b"RIFF" + bytes(100_000))
    return path


def args(fake: FakeV3, *extra: str) -> list[str]:
    return ["--api-key", TOKEN, "--base-url", fake.base_url, "--no-progress", *extra]


def finish_after(fake: FakeV3, polls: int) -> None:
    original = fake._result
    seen = {"n": 0}

    def finishing(request: Request, ident: str | None) -> Response:
        seen["n"] += 1
        if seen["n"] >= polls and ident in fake.sessions:
            fake.sessions[ident].status = "completed"
        return original(request, ident)

    fake._result = finishing  # type: ignore[method-assign]


def test_transcribe_without_wait_uploads_and_prints_the_v1_result(
    fake: FakeV3, wav: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["transcribe", str(wav), "--language", "en", *args(fake)])
    assert code == EXIT_OK
    printed = json.loads(capsys.readouterr().out)
    assert printed["result"]["session_id"] in fake.sessions
    assert bytes(fake.only_upload().data) == wav.read_bytes()


@pytest.mark.parametrize("fmt", ["srt", "vtt", "txt", "json"])
def test_transcribe_wait_writes_the_transcript(
    fake: FakeV3, wav: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    finish_after(fake, 2)
    output = tmp_path / f"out.{fmt}"
    code = main(
        [
            "transcribe",
            str(wav),
            "--language",
            "en",
            "--wait",
            "--poll-interval",
            "0.01",
            "--format",
            fmt,
            "--output",
            str(output),
            *args(fake),
        ]
    )
    assert code == EXIT_OK
    text = output.read_text()
    expected = {
        "srt": "1\n00:00:00,000 --> 00:00:01,200\nhello world\n",
        "vtt": "WEBVTT\n\n00:00:00.000",
        "txt": "hello world\n",
        "json": '"status": "done"',
    }[fmt]
    assert expected in text


def test_wait_that_gives_up_exits_3_and_prints_the_session_id(
    fake: FakeV3, wav: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "transcribe",
            str(wav),
            "--language",
            "en",
            "--wait",
            "--timeout",
            "0.1",
            "--poll-interval",
            "0.05",
            *args(fake),
        ]
    )
    assert code == EXIT_WAIT_TIMEOUT
    captured = capsys.readouterr()
    session_id = captured.out.strip()
    assert session_id in fake.sessions
    assert "keeps running" in captured.err


def test_errors_exit_with_a_message_and_no_traceback(
    fake: FakeV3, wav: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["transcribe", str(tmp_path / "missing.wav"), "--language", "en", *args(fake)]) == EXIT_ERROR
    assert "not a file" in capsys.readouterr().err
    assert main(["transcribe", str(wav), "--language", "en", "--base-url", "ftp://x", "--api-key", "k"]) == EXIT_USAGE
    assert "base_url" in capsys.readouterr().err
    assert main(["transcribe", str(wav), "--language", "en", "--base-url", fake.base_url]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "(401)" in err and "Traceback" not in err
    assert fake.requests == []


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["transcribe", "x.wav"])  # --language is required
    assert caught.value.code == EXIT_USAGE
    with pytest.raises(SystemExit) as listen:
        main(["emulator", "--listen", "nohost"])
    assert listen.value.code == EXIT_USAGE


def test_demo_runs_the_v1_flow_on_the_embedded_emulator() -> None:
    import subprocess
    import sys

    script = Path(sys.executable).with_name("scriptix-compat")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "compat.cli"]
    finished = subprocess.run(
        [*command, "demo", "--processing-delay", "0.2"], capture_output=True, text=True, timeout=120
    )
    assert finished.returncode == 0, finished.stderr
    out = finished.stdout
    assert '"status": "done"' in out
    assert "V3  POST   /api/v3/files/  -> 201" in out and "V3  PATCH" in out
    assert "V1  PUT  /api/v3/speech-to-text/session/" in out
    assert finished.stderr.strip() == ""
