"""The upload claim of a process that was SIGKILLed mid-upload: taken over by the next caller, and
the upload resumes from the server's offset (one upload).

The claim's holder id names its process (machine, PID, start time). A caller on the same machine
sees that the holder's process is gone and takes the claim over at once. A caller that cannot tell
(the holder ran on another host) waits while it watches the lease: the killed process renews it no
more, so it runs out at most one lease after the kill, and the caller takes it over then. Either
way the upload finds the same TUS upload through the session's resume key in the store.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from rel_helpers import MIB, TOKEN, assert_one_complete_upload, legacy

import compat
from compat import SQLiteStore
from compat.emulator import Emulator

CHILD = Path(__file__).with_name("legacy_child.py")
CHUNK = 128 * 1024
FILES = "/api/v3/files"
LEASE = 4.0


def run_child(args: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(compat.__file__).resolve().parents[1]),
        "SCRIPTIX_COMPAT_CLAIM_LEASE": str(LEASE),
    }
    return subprocess.run(
        [sys.executable, str(CHILD), json.dumps(args)], capture_output=True, text=True, timeout=60, check=False, env=env
    )


def creations(emu: Emulator) -> int:
    return sum(1 for r in emu.requests if r.method == "POST" and r.path.startswith(FILES))


def killed_mid_upload(emu: Emulator, tmp_path: Path, data: bytes) -> tuple[dict[str, Any], Path, str]:
    path = tmp_path / "talk.wav"
    path.write_bytes(data)
    store = tmp_path / "state.sqlite3"
    session_id = legacy(emu.url, store).create_session("en")["result"]["session_id"]
    args = {
        "base_url": emu.url,
        "store": str(store),
        "token": TOKEN,
        "session_id": session_id,
        "file": str(path),
        "chunk_size": CHUNK,
        "die_at": 0.4,
        "report": str(tmp_path / "report.json"),
    }
    first = run_child(args)
    assert first.returncode == -9, f"the first uploader should have been killed:\n{first.stderr}"
    assert creations(emu) == 1
    [upload] = emu.uploads.values()
    assert 0 < upload.offset < len(data)
    return args, store, session_id


def test_a_killed_holders_claim_is_taken_over_at_once_on_the_same_machine_and_the_upload_resumes(
    emu: Emulator, tmp_path: Path
) -> None:
    data = random.Random(11).randbytes(2 * MIB + 3)
    args, store, session_id = killed_mid_upload(emu, tmp_path, data)
    started = time.monotonic()
    second = run_child({**args, "die_at": None})
    assert second.returncode == 0, second.stderr
    assert time.monotonic() - started < LEASE, "the caller waited for the lease of a holder known to be dead"
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["answer"]["result"]["status"] == "uploaded"
    assert 0 < report["started_at"] < len(data), "the taker-over started over instead of resuming"
    assert_one_complete_upload(emu, session_id, data)
    assert creations(emu) == 1
    assert SQLiteStore(store).pending_uploads() == []


def test_a_killed_holder_of_another_host_is_waited_for_until_its_lease_ran_out_then_the_upload_resumes(
    emu: Emulator, tmp_path: Path
) -> None:
    data = random.Random(12).randbytes(2 * MIB + 3)
    args, store, session_id = killed_mid_upload(emu, tmp_path, data)
    with sqlite3.connect(store) as db:  # the holder as a process of another host names itself
        db.execute("UPDATE sessions SET claim_holder = ? WHERE session_id = ?", ("0" * 16 + "/1/1/x", session_id))
        [(lapses_at,)] = db.execute("SELECT claim_until FROM sessions WHERE session_id = ?", (session_id,)).fetchall()
    answer = legacy(emu.url, store, claim_lease=LEASE).upload(session_id, Path(args["file"]))
    finished = time.time()
    assert answer["result"]["status"] == "uploaded"
    assert lapses_at <= finished < lapses_at + LEASE, "taken over before the lease ran out, or long after"
    assert_one_complete_upload(emu, session_id, data)
    assert creations(emu) == 1
