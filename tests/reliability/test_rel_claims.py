"""The upload claim of a process that was SIGKILLed mid-upload: refused to others while its lease
runs, taken over once it ran out, and the upload resumes from the server's offset (one upload).

The killed process renewed its claim while it lived (every third of the lease); it can renew no
more, so the claim lapses at most one lease after the kill. Before that, another caller of the same
token is refused with V1's 400 and nothing goes upstream; after it, the caller takes the claim over
and its upload finds the same TUS upload through the resume key in the store.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from rel_helpers import MIB, TOKEN, assert_one_complete_upload, legacy, wait_for_lapsed_claim

import compat
from compat import BadRequestError, SQLiteStore
from compat.emulator import Emulator

CHILD = Path(__file__).with_name("legacy_child.py")
CHUNK = 128 * 1024
FILES = "/api/v3/files"
LEASE = 4.0
ALREADY = {"error": "Invalid data: media was already uploaded for this session"}


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


def test_a_killed_holders_claim_refuses_others_until_its_lease_ran_out_then_the_upload_resumes(
    emu: Emulator, tmp_path: Path
) -> None:
    data = random.Random(11).randbytes(2 * MIB + 3)
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

    # Within the lease: the dead holder's claim still stands; a caller is refused, nothing goes up.
    started = time.time()
    with pytest.raises(BadRequestError) as refused:
        legacy(emu.url, store, claim_lease=LEASE).upload(session_id, path)
    lapses_at = wait_for_lapsed_claim(store, session_id)
    assert started < lapses_at, "the check came too late to show the refusal (a very slow machine?)"
    assert refused.value.status_code == 400 and refused.value.body == ALREADY
    assert creations(emu) == 1
    [upload] = emu.uploads.values()
    assert 0 < upload.offset < len(data)

    # The lease ran out: the next caller takes the claim over and resumes the same upload.
    second = run_child({**args, "die_at": None})
    assert second.returncode == 0, second.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["answer"]["result"]["status"] == "uploaded"
    assert 0 < report["started_at"] < len(data), "the taker-over started over instead of resuming"
    assert_one_complete_upload(emu, session_id, data)
    assert creations(emu) == 1
    assert SQLiteStore(store).pending_uploads() == []
