"""Issue 10, item 6: ``transcribe`` loses the user's work.

* the file, its media type and the output path are checked before a session exists upstream;
* Ctrl-C prints the session id and how to continue; the same command again continues the same
  session and upload, sending only the bytes the server does not have (a real child process,
  sent SIGINT mid-upload, against a fake V3 that counts the PATCH bytes it receives);
* ``scriptix-compat result SESSION_ID`` fetches (or waits for) a result; a ``--wait`` that gives up
  points at it; ``--format srt`` without ``--wait`` is refused before anything goes upstream.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fake_v3 import FakeV3
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from compat import LegacyClient
from compat.cli import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, EXIT_WAIT_TIMEOUT, main
from compat.progress import human_size

TOKEN = "item6-token"
CHUNK = 16 * 1024


@pytest.fixture
def fake(httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeV3:
    monkeypatch.setenv("SCRIPTIX_COMPAT_STORE", str(tmp_path / "state.sqlite3"))
    monkeypatch.setenv("SCRIPTIX_COMPAT_CHUNK_SIZE", str(CHUNK))
    monkeypatch.delenv("SCRIPTIX_API_KEY", raising=False)
    monkeypatch.delenv("SCRIPTIX_BASE_URL", raising=False)
    return FakeV3(httpserver, token=TOKEN)


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    path = tmp_path / "talk.wav"
    path.write_bytes(b"RIFF" + bytes(range(256)) * (24 * CHUNK // 256) + b"tail")
    return path


def cli(fake: FakeV3, *extra: str) -> list[str]:
    return ["--api-key", TOKEN, "--base-url", fake.base_url, "--no-progress", *extra]


def patch_bytes(fake: FakeV3, since: int = 0) -> int:
    """Bytes the fake received in PATCH bodies (from request number ``since`` on)."""
    return sum(size for method, route, size in fake.requests[since:] if (method, route) == ("PATCH", "tus-upload"))


def finish_sessions(fake: FakeV3) -> None:
    for session in fake.sessions.values():
        session.status = "completed"


def finish_after(fake: FakeV3, polls: int) -> None:
    original = fake._result
    seen = {"n": 0}

    def finishing(request: Request, ident: str | None) -> Response:
        seen["n"] += 1
        if seen["n"] >= polls and ident in fake.sessions:
            fake.sessions[ident].status = "completed"
        return original(request, ident)

    fake._result = finishing  # type: ignore[method-assign]


def session_line(stderr: str) -> str:
    found = re.search(r"^session (\S+)", stderr, re.MULTILINE)
    assert found, stderr
    return found.group(1)


# the acceptance point: interrupted mid-upload, then run again ----------------------------------


def child_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "SCRIPTIX_COMPAT_STORE": str(tmp_path / "state.sqlite3"),
        "SCRIPTIX_COMPAT_CHUNK_SIZE": str(CHUNK),
        **extra,
    }
    env.pop("SCRIPTIX_API_KEY", None)
    return env


def transcribe_command(fake: FakeV3, wav: Path) -> list[str]:
    command = [sys.executable, "-m", "compat.cli", "transcribe", str(wav), "--language", "en"]
    return [*command, "--api-key", TOKEN, "--base-url", fake.base_url]


def _ctrl_c_as_on_a_terminal() -> None:
    """SIGINT back to its default in the child: a job started in the background (``cmd &`` in a
    script, as some CI runners do) inherits it ignored, and Python then never raises
    KeyboardInterrupt, so Ctrl-C could not be tested there."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_and_stop_mid_upload(fake: FakeV3, command: list[str], env: dict[str, str], sig: int) -> tuple[int, str]:
    """Run ``command`` in a child process against a paced upstream; send ``sig`` after 4 PATCHes.

    Each PATCH is answered 0.15 s after it arrives, so there is a "mid". Returns the exit code
    and stderr, once the fake has finished the PATCH it was holding when the child stopped.
    """
    fake.fail("PATCH", "tus-upload", *[("stall", 0.15)] * 40)
    child = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_ctrl_c_as_on_a_terminal,
    )
    try:
        deadline = time.monotonic() + 60
        while fake.count("PATCH", "tus-upload") < 4:
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the upload never got going"
            time.sleep(0.02)
        child.send_signal(sig)
        _, stderr = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    time.sleep(0.5)
    fake.faults.clear()
    return child.returncode, stderr


def test_interrupted_transcribe_run_again_continues_one_session_and_one_upload(
    fake: FakeV3, wav: Path, tmp_path: Path
) -> None:
    size = wav.stat().st_size
    command, env = transcribe_command(fake, wav), child_env(tmp_path)
    code, first_err = run_and_stop_mid_upload(fake, command, env, signal.SIGINT)
    assert code == EXIT_INTERRUPTED, first_err
    assert "Traceback" not in first_err
    session_id = session_line(first_err)
    assert f"--session {session_id}" in first_err and "run the same command again" in first_err
    assert "\r" not in first_err  # stderr is a pipe: progress as plain lines
    upload = fake.only_upload()
    kept = len(upload.data)
    assert 0 < kept < size, "the interrupt should land mid-upload"
    assert patch_bytes(fake) == kept
    before_rerun = len(fake.requests)

    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    assert rerun.returncode == EXIT_OK, rerun.stderr
    assert session_line(rerun.stderr) == session_id
    assert "continuing an earlier run" in rerun.stderr
    assert f"upload resumes at {human_size(kept)}" in rerun.stderr
    assert fake.count("POST", "session-create") == 1  # one session
    assert fake.count("POST", "tus-create") == 1  # one upload
    assert fake.only_upload() is upload and bytes(upload.data) == wav.read_bytes()
    assert upload.session_id == session_id
    assert patch_bytes(fake, since=before_rerun) == size - kept  # the second run sent only the rest
    assert patch_bytes(fake) == size  # every byte crossed the wire once


def test_a_killed_transcribe_is_continued_at_once_by_the_next_run(fake: FakeV3, wav: Path, tmp_path: Path) -> None:
    """The dead run's claim names its process, which is gone: the next run on this machine takes it
    over without waiting for the lease, and resumes the upload."""
    size = wav.stat().st_size
    lease = 60.0  # longer than the test: a run that waited for it would time out
    command, env = transcribe_command(fake, wav), child_env(tmp_path, SCRIPTIX_COMPAT_CLAIM_LEASE=str(lease))
    code, _ = run_and_stop_mid_upload(fake, command, env, signal.SIGKILL)
    assert code == -signal.SIGKILL
    kept = len(fake.only_upload().data)
    assert 0 < kept < size

    started = time.monotonic()
    later = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert later.returncode == EXIT_OK, later.stderr
    assert time.monotonic() - started < lease
    assert fake.count("POST", "session-create") == 1 and fake.count("POST", "tus-create") == 1
    assert bytes(fake.only_upload().data) == wav.read_bytes()
    assert patch_bytes(fake) == size


# checks before anything goes upstream --------------------------------------------------------


def test_a_text_file_is_refused_before_a_session_exists(
    fake: FakeV3, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not audio\n")
    assert main(["transcribe", str(notes), "--language", "en", *cli(fake)]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "text/plain" in err and "--content-type" in err
    assert fake.requests == []


def test_content_type_lets_an_unknown_extension_through(
    fake: FakeV3, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recording = tmp_path / "recording.unknownext"
    recording.write_bytes(b"RIFF" + bytes(5000))
    assert main(["transcribe", str(recording), "--language", "en", *cli(fake)]) == EXIT_ERROR
    assert fake.requests == []
    assert main(["transcribe", str(recording), "--language", "en", "--content-type", "audio/wav", *cli(fake)]) == 0
    assert fake.only_upload().metadata["filetype"] == "audio/wav"


def test_an_empty_file_is_refused_before_a_session_exists(
    fake: FakeV3, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    assert main(["transcribe", str(empty), "--language", "en", *cli(fake)]) == EXIT_ERROR
    assert "empty" in capsys.readouterr().err
    assert fake.requests == []


@pytest.mark.parametrize("where", ["missing folder", "a folder"])
def test_a_bad_output_path_is_refused_before_a_session_exists(
    fake: FakeV3, wav: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    output = tmp_path / "no-such-dir" / "out.srt" if where == "missing folder" else tmp_path
    code = main(["transcribe", str(wav), "--language", "en", "--wait", "--format", "srt", "--output", str(output)])
    assert code == EXIT_USAGE or code == EXIT_ERROR  # no token given: the order of local checks is free
    code = main(
        ["transcribe", str(wav), "--language", "en", "--wait", "--format", "srt", "--output", str(output), *cli(fake)]
    )
    assert code == EXIT_ERROR
    assert f"--output {output}" in capsys.readouterr().err
    assert fake.requests == []


def test_format_srt_without_wait_is_a_usage_error_and_nothing_goes_upstream(
    fake: FakeV3, wav: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["transcribe", str(wav), "--language", "en", "--format", "srt", *cli(fake)])
    assert caught.value.code == EXIT_USAGE
    err = capsys.readouterr().err
    assert "--format srt needs --wait" in err and "scriptix-compat result" in err
    assert fake.requests == []


def test_the_output_is_replaced_atomically_and_only_when_done(
    fake: FakeV3, wav: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "talk.srt"
    output.write_text("old captions\n")
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
            "--format",
            "srt",
            "--output",
            str(output),
            *cli(fake),
        ]
    )
    assert code == EXIT_WAIT_TIMEOUT
    assert output.read_text() == "old captions\n"  # nothing half-written, nothing lost
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".talk.srt")) == []


# session id, rerun, --session ---------------------------------------------------------------


def test_the_session_id_is_printed_before_the_upload_starts(
    fake: FakeV3, wav: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.fail("POST", "tus-create", 400)  # the upload fails at once: the session must already be named
    assert main(["transcribe", str(wav), "--language", "en", *cli(fake)]) == EXIT_ERROR
    err = capsys.readouterr().err
    session_id = session_line(err)
    assert session_id in fake.sessions
    assert err.index(f"session {session_id}") < err.index("error (400)")


def test_a_rerun_after_the_upload_goes_straight_to_the_result(
    fake: FakeV3, wav: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["transcribe", str(wav), "--language", "en", *cli(fake)]) == EXIT_OK
    session_id = session_line(capsys.readouterr().err)
    sent = patch_bytes(fake)
    finish_sessions(fake)
    output = tmp_path / "talk.txt"
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
            "txt",
            "--output",
            str(output),
            *cli(fake),
        ]
    )
    assert code == EXIT_OK
    assert session_line(capsys.readouterr().err) == session_id
    assert output.read_text() == "hello world\n"
    assert fake.count("POST", "session-create") == 1 and fake.count("POST", "tus-create") == 1
    assert patch_bytes(fake) == sent == wav.stat().st_size
    # The job is finished: the next run is a new job.
    assert main(["transcribe", str(wav), "--language", "en", *cli(fake)]) == EXIT_OK
    assert session_line(capsys.readouterr().err) != session_id
    assert fake.count("POST", "session-create") == 2


def test_a_rerun_with_another_language_is_another_job(
    fake: FakeV3, wav: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["transcribe", str(wav), "--language", "en", *cli(fake)]) == EXIT_OK
    assert main(["transcribe", str(wav), "--language", "nl", *cli(fake)]) == EXIT_OK
    assert fake.count("POST", "session-create") == 2
    assert {s.fields["language"] for s in fake.sessions.values()} == {"en", "nl"}


def test_a_remembered_session_that_is_gone_upstream_starts_a_new_one(
    fake: FakeV3, wav: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["transcribe", str(wav), "--language", "en", *cli(fake)]) == EXIT_OK
    first = session_line(capsys.readouterr().err)
    del fake.sessions[first]  # deleted upstream (or expired): its result is a 404
    assert main(["transcribe", str(wav), "--language", "en", *cli(fake)]) == EXIT_OK
    err = capsys.readouterr().err
    assert f"session {first} of an earlier run of this command is gone upstream" in err
    assert err.count("session ") >= 2 and fake.count("POST", "session-create") == 2


def test_session_option_uploads_to_the_given_session_then_fetches_it(
    fake: FakeV3, wav: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client = LegacyClient(api_key=TOKEN, base_url=fake.base_url, store=str(tmp_path / "state.sqlite3"))
    session_id = client.create_session("en")["result"]["session_id"]
    client.close()
    assert main(["transcribe", str(wav), "--session", session_id, *cli(fake)]) == EXIT_OK
    assert fake.count("POST", "session-create") == 1
    assert fake.only_upload().session_id == session_id
    finish_sessions(fake)
    capsys.readouterr()
    # Without a file: fetch it. With the same file again: nothing is uploaded twice.
    assert main(["transcribe", "--session", session_id, "--wait", "--format", "txt", *cli(fake)]) == EXIT_OK
    assert capsys.readouterr().out == "hello world\n"
    assert main(["transcribe", str(wav), "--session", session_id, *cli(fake)]) == EXIT_OK
    assert fake.count("POST", "tus-create") == 1 and patch_bytes(fake) == wav.stat().st_size


def test_session_option_with_an_unknown_session_says_so(
    fake: FakeV3, wav: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["transcribe", str(wav), "--session", "ffffffffffffffffffffffffff", *cli(fake)]) == EXIT_ERROR
    assert "not found" in capsys.readouterr().err
    assert fake.count("POST", "tus-create") == 0 and fake.count("POST", "session-create") == 0


def test_usage_of_session_and_language(fake: FakeV3, wav: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["transcribe", str(wav)], ["transcribe", "--language", "en"]):
        with pytest.raises(SystemExit) as caught:
            main([*argv, *cli(fake)])
        assert caught.value.code == EXIT_USAGE
    assert fake.requests == []


# result, and a wait that gives up -------------------------------------------------------------


def test_wait_that_gives_up_says_to_use_result(fake: FakeV3, wav: Path, capsys: pytest.CaptureFixture[str]) -> None:
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
            "--format",
            "vtt",
            *cli(fake),
        ]
    )
    assert code == EXIT_WAIT_TIMEOUT
    captured = capsys.readouterr()
    session_id = captured.out.strip()
    assert f"scriptix-compat result {session_id} --wait --format vtt" in captured.err


def test_result_fetches_waits_and_renders(
    fake: FakeV3, wav: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["transcribe", str(wav), "--language", "en", *cli(fake)]) == EXIT_OK
    session_id = session_line(capsys.readouterr().err)
    uploads = fake.count("POST", "tus-create")

    # Not done yet: json shows where it is (exit 0); captions cannot exist yet (exit 3, said why).
    assert main(["result", session_id, *cli(fake)]) == EXIT_OK
    assert '"status": "new"' in capsys.readouterr().out
    output = tmp_path / "talk.srt"
    assert main(["result", session_id, "--format", "srt", "--output", str(output), *cli(fake)]) == EXIT_WAIT_TIMEOUT
    err = capsys.readouterr().err
    assert "not done yet" in err and "--wait" in err
    assert not output.exists()

    finish_after(fake, 2)
    code = main(
        [
            "result",
            session_id,
            "--wait",
            "--poll-interval",
            "0.01",
            "--format",
            "srt",
            "--output",
            str(output),
            *cli(fake),
        ]
    )
    assert code == EXIT_OK
    assert output.read_text().startswith("1\n00:00:00,000 --> 00:00:01,200\nhello world\n")
    assert fake.count("POST", "tus-create") == uploads  # result never uploads


def test_result_of_a_failed_session_exits_1_with_the_json(
    fake: FakeV3, wav: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["transcribe", str(wav), "--language", "en", *cli(fake)]) == EXIT_OK
    session_id = session_line(capsys.readouterr().err)
    fake.sessions[session_id].status = "failed"
    assert main(["result", session_id, "--format", "txt", *cli(fake)]) == EXIT_ERROR
    captured = capsys.readouterr()
    assert "failed" in captured.err and '"status": "failed"' in captured.out


def test_result_of_an_unknown_or_malformed_session(fake: FakeV3, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["result", "ffffffffffffffffffffffffff", *cli(fake)]) == EXIT_ERROR
    assert "(404)" in capsys.readouterr().err
    before = len(fake.requests)
    assert main(["result", "../x", *cli(fake)]) == EXIT_ERROR
    assert "not a session id" in capsys.readouterr().err
    assert len(fake.requests) == before
