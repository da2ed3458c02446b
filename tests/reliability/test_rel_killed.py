"""The uploader is SIGKILLed midway through ``LegacyClient.upload``; a new process finishes the job.

The V3Client case is in tests/integration; here the V1 path: the session was created by the
caller, the upload goes through the translator, the process dies without any cleanup. The rerun in a
new process (same store, same token, same call) must resume from the server's offset: one upload,
identical bytes, only the rest sent, nothing left pending in the store. The killed process held the
session's upload claim: the rerun takes it over once its lease (1 s here) has run out.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

from rel_helpers import MIB, TOKEN, assert_one_complete_upload, legacy, wait_for_lapsed_claim

import compat
from compat import SQLiteStore
from compat.emulator import Emulator

CHILD = Path(__file__).with_name("legacy_child.py")
CHUNK = 128 * 1024
FILES = "/api/v3/files"
LEASE = 1.0


def run_child(args: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    """Run the child on the same ``compat`` as this test (first on its path), with a claim lease of ``LEASE``."""
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(compat.__file__).resolve().parents[1]),
        "SCRIPTIX_COMPAT_CLAIM_LEASE": str(LEASE),
    }
    return subprocess.run(
        [sys.executable, str(CHILD), json.dumps(args)], capture_output=True, text=True, timeout=60, check=False, env=env
    )


def test_a_killed_legacy_upload_is_finished_by_the_next_process(
    emu: Emulator, tmp_path: Path, kill_fraction: float
) -> None:
    data = random.Random(7).randbytes(3 * MIB + 5)
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
        "die_at": kill_fraction,
        "report": str(tmp_path / "report.json"),
    }

    first = run_child(args)
    assert first.returncode == -9, f"the first uploader should have been killed:\n{first.stderr}"
    [upload] = emu.uploads.values()
    assert not upload.complete
    assert len(SQLiteStore(store).pending_uploads()) == 1  # its URL outlived the process
    wait_for_lapsed_claim(store, session_id)

    second = run_child({**args, "die_at": None})
    assert second.returncode == 0, second.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["answer"]["result"]["status"] == "uploaded"
    assert 0 < report["started_at"] < len(data), "the second process started over instead of resuming"
    assert_one_complete_upload(emu, session_id, data)
    assert sum(1 for r in emu.requests if r.method == "POST" and r.path.startswith(FILES)) == 1
    assert len(emu.sessions) == 1
    assert SQLiteStore(store).pending_uploads() == []
