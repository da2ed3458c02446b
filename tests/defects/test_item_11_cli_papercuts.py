"""Issue 10, item 11 (the command-line part): papercuts a new user hit.

* ``doctor`` lists every setting with the bad ones marked, instead of stopping at the first;
* progress written to a stderr that is not a terminal has no ``\\r`` frames;
* ``emulator --help`` has a description and shows the defaults;
* a port in use is one clear line naming the address and another port, not a bare ``[Errno 98]``;
* a missing token names ``--api-key`` / ``SCRIPTIX_API_KEY`` (``api_key=`` for ``LegacyClient``),
  before any request; the V1 401 that HTTP callers get is unchanged.
"""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_v3 import FakeV3
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from compat import AuthenticationError, LegacyClient
from compat.cli import EXIT_ERROR, EXIT_OK, main
from compat.config import Settings

TOKEN = "item11-token"


@pytest.fixture
def fake(httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeV3:
    monkeypatch.setenv("SCRIPTIX_COMPAT_STORE", str(tmp_path / "state.sqlite3"))
    monkeypatch.setenv("SCRIPTIX_COMPAT_CHUNK_SIZE", "16KiB")
    monkeypatch.delenv("SCRIPTIX_API_KEY", raising=False)
    monkeypatch.delenv("SCRIPTIX_BASE_URL", raising=False)
    return FakeV3(httpserver, token=TOKEN)


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    path = tmp_path / "talk.wav"
    path.write_bytes(b"RIFF" + bytes(200_000))
    return path


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port something else is listening on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


# doctor ---------------------------------------------------------------------------------------


def test_doctor_lists_every_setting_and_marks_each_bad_one(
    fake: FakeV3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SCRIPTIX_COMPAT_TIMEOUT", "soon")
    monkeypatch.setenv("SCRIPTIX_COMPAT_CHUNK_SIZE", "lots")
    monkeypatch.setenv("SCRIPTIX_COMPAT_MAX_RETRIES", "3")
    store = str(tmp_path / "doctor.sqlite3")
    code = main(["doctor", "--format", "json", "--base-url", fake.base_url, "--api-key", TOKEN, "--store", store])
    assert code == EXIT_ERROR
    report = json.loads(capsys.readouterr().out)
    rows = {row["option"]: row for row in report["settings"]}
    assert set(rows) == set(Settings.model_fields)  # every setting, not just the first bad one
    bad = {name for name, row in rows.items() if "problem" in row}
    assert bad == {"timeout", "chunk_size"}
    assert "SCRIPTIX_COMPAT_TIMEOUT" in rows["timeout"]["problem"]
    assert "SCRIPTIX_COMPAT_CHUNK_SIZE" in rows["chunk_size"]["problem"]
    assert rows["max_retries"] == {
        "option": "max_retries",
        "value": 3,
        "source": "environment variable SCRIPTIX_COMPAT_MAX_RETRIES",
    }
    assert rows["api_key"]["value"] == "set"
    assert len(report["problems"]) == 2
    assert fake.requests == []  # the upstream is not contacted with settings that cannot be used
    assert report["store"]["path"] == store

    assert main(["doctor", "--no-upstream", "--store", store]) == EXIT_ERROR
    text = capsys.readouterr().out
    assert text.count("BAD:") == 2
    for name in Settings.model_fields:
        assert name in text
    assert TOKEN not in text


def test_doctor_with_good_settings_still_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--no-upstream", "--store", str(tmp_path / "s.sqlite3")]) == EXIT_OK
    assert "BAD" not in capsys.readouterr().out


# progress ------------------------------------------------------------------------------------


def test_progress_to_a_stderr_that_is_not_a_terminal_has_no_carriage_returns(
    fake: FakeV3, wav: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    original = fake._result

    def done_at_once(request: Request, ident: str | None) -> Response:
        if ident in fake.sessions:
            fake.sessions[ident].status = "completed"
        return original(request, ident)

    fake._result = done_at_once  # type: ignore[method-assign]
    code = main(
        [
            "transcribe",
            str(wav),
            "--language",
            "en",
            "--wait",
            "--poll-interval",
            "0.01",
            "--api-key",
            TOKEN,
            "--base-url",
            fake.base_url,
        ]
    )
    assert code == EXIT_OK
    err = capsys.readouterr().err
    assert "\r" not in err
    assert "upload: 100% (195.3 KiB of 195.3 KiB)" in err
    assert "status: done" in err
    assert len(err.splitlines()) < 20  # occasional lines, not a frame per chunk


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_still_gets_a_live_bar() -> None:
    from compat.progress import StatusProgress, UploadProgress

    terminal = _Terminal()
    with UploadProgress(1000, stream=terminal) as progress:
        for done in range(0, 1001, 100):
            progress(done, 1000)
    with StatusProgress(stream=terminal) as status:
        status.update("processing")
    assert "\r" in terminal.getvalue()


def test_no_progress_writes_nothing() -> None:
    from compat.progress import UploadProgress

    stream = io.StringIO()
    with UploadProgress(1000, enabled=False, stream=stream) as progress:
        progress(0, 1000)
        progress(1000, 1000)
    assert stream.getvalue() == ""


# emulator --help ------------------------------------------------------------------------------


def test_emulator_help_has_a_description_and_the_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["emulator", "--help"])
    assert caught.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "Serve a local Scriptix V3" in text and "/_emulator/state" in text
    assert "default 127.0.0.1:8480" in text
    assert "(default 1.0)" in text
    assert "drop_patch" in text


# a port in use --------------------------------------------------------------------------------


def test_emulator_on_a_port_in_use_is_one_clear_line(busy_port: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["emulator", "--listen", f"127.0.0.1:{busy_port}"]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert f"127.0.0.1:{busy_port}" in err and "already in use" in err
    assert "--listen 127.0.0.1:0" in err and "Errno" not in err


def test_gateway_on_a_port_in_use_is_one_clear_line(
    busy_port: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "gateway",
            "--listen",
            f"127.0.0.1:{busy_port}",
            "--upstream",
            "http://127.0.0.1:9",
            "--store",
            str(tmp_path / "gateway.sqlite3"),
        ]
    )
    assert code == EXIT_ERROR
    lines = [line for line in capsys.readouterr().err.splitlines() if "scriptix-compat" in line]
    assert len(lines) == 1, lines
    assert f"127.0.0.1:{busy_port}" in lines[0] and "already in use" in lines[0]
    assert "--listen" in lines[0] and "Errno" not in lines[0]


# a missing token ------------------------------------------------------------------------------


def test_cli_without_a_token_names_api_key_and_the_variable(
    fake: FakeV3, wav: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["transcribe", str(wav), "--language", "en", "--base-url", fake.base_url]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "(401)" in err and "--api-key" in err and "SCRIPTIX_API_KEY" in err
    assert main(["result", "ffffffffffffffffffffffffff", "--base-url", fake.base_url]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "--api-key" in err and "SCRIPTIX_API_KEY" in err
    assert fake.requests == []


def test_legacy_client_without_a_token_names_api_key_and_keeps_the_v1_shape(fake: FakeV3) -> None:
    client = LegacyClient(base_url=fake.base_url, store=":memory:")
    for call in (
        lambda: client.create_session("en"),
        lambda: client.get_result("ffffffffffffffffffffffffff"),
        lambda: client.delete("ffffffffffffffffffffffffff"),
    ):
        with pytest.raises(AuthenticationError) as caught:
            call()
        error = caught.value
        assert error.status_code == 401
        assert set(error.body) == {"error"}
        assert "api_key=" in error.body["error"] and "SCRIPTIX_API_KEY" in error.body["error"]
    assert fake.requests == []


def test_the_v1_401_http_callers_get_is_unchanged(fake: FakeV3) -> None:
    client = LegacyClient(api_key=TOKEN, base_url=fake.base_url, store=":memory:")
    with pytest.raises(AuthenticationError) as caught:
        client.translator.create_session(None, {"language": "en"})
    assert caught.value.body == {"error": "Unauthorized: the x-zoom-s2t-key header is missing or invalid"}
