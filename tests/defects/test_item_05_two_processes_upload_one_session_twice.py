"""Issue 10, item 5: two processes sharing a store upload one session's media twice.

The one-upload-per-session rule lived only in process memory. Now it is a claim taken atomically
in the store. Two ``LegacyClient`` processes on one store file, and two gateway processes on one
store file, race to upload the media of one session, 20 rounds each: every round exactly one
upload reaches the upstream (one TUS creation, every byte once), and the loser gets V1's 400
"media was already uploaded for this session" with nothing sent upstream.

Each round releases both uploaders at once (a barrier), so their calls overlap.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from fake_v3 import FakeV3
from pytest_httpserver import HTTPServer

import compat
from compat import LegacyClient

ROUNDS = 20
KIB = 1024
SIZE = 384 * KIB + 11  # seven PATCHes of 64 KiB: long enough for the two calls to overlap
CHUNK = 64 * KIB
TOKEN = "claim-race-token-3b9e1d"
ALREADY = {"error": "Invalid data: media was already uploaded for this session"}
SESSIONS = "/api/v3/speech-to-text/session"
RACER = Path(__file__).resolve().parents[1] / "upload_racer.py"
REPO = Path(compat.__file__).resolve().parents[1]
TIMEOUT = 60.0


@pytest.fixture(scope="module")
def _upstream_server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)  # threaded: both uploads are served at once
    server.start()
    try:
        yield server
    finally:
        server.clear()
        if server.is_running():
            server.stop()


@pytest.fixture
def fake(_upstream_server: HTTPServer) -> Iterator[FakeV3]:
    yield FakeV3(_upstream_server, token=TOKEN)
    _upstream_server.clear()


def child_environment() -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SCRIPTIX_")}
    environ.update(PYTHONPATH=str(REPO), SCRIPTIX_COMPAT_WARN="off", SCRIPTIX_COMPAT_CHUNK_SIZE=str(CHUNK))
    return environ


class _Process:
    """A child process whose output lines are collected by a thread (so that reads can time out)."""

    def __init__(self, command: list[str], *, stdin: bool, lines_from: str) -> None:
        self.process = subprocess.Popen(
            command,
            cwd=REPO,
            env=child_environment(),
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE if lines_from == "stdout" else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.errors: list[str] = []
        out = self.process.stdout if lines_from == "stdout" else self.process.stderr
        threading.Thread(target=self._collect, args=(out, self.lines), daemon=True).start()
        if lines_from == "stdout":
            threading.Thread(target=self._collect, args=(self.process.stderr, None), daemon=True).start()

    def _collect(self, stream: Any, into: queue.Queue[str] | None) -> None:
        for line in stream:
            if into is not None:
                into.put(line.rstrip("\n"))
            else:
                self.errors.append(line.rstrip("\n"))

    def next_line(self) -> str:
        try:
            return self.lines.get(timeout=TIMEOUT)
        except queue.Empty:
            raise AssertionError(f"no answer from the child in {TIMEOUT:g} s:\n" + "\n".join(self.errors)) from None

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


class Racer(_Process):
    """``tests/upload_racer.py``: a LegacyClient process that uploads on ``go``."""

    def __init__(self, base_url: str, store: Path) -> None:
        args = {"base_url": base_url, "store": str(store), "token": TOKEN, "chunk_size": CHUNK}
        super().__init__([sys.executable, str(RACER), json.dumps(args)], stdin=True, lines_from="stdout")
        assert self.message() == {"ready": True}

    def message(self) -> dict[str, Any]:
        return dict(json.loads(self.next_line()))

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()


class Gateway(_Process):
    """``scriptix-compat gateway`` as a process of its own."""

    def __init__(self, upstream: str, store: Path) -> None:
        command = [sys.executable, "-m", "compat.cli", "gateway", "--listen", "127.0.0.1:0"]
        command += ["--upstream", upstream, "--store", str(store)]
        super().__init__(command, stdin=False, lines_from="stderr")
        while True:
            line = self.next_line()
            found = re.match(r"scriptix-compat gateway: listening on (http://[^\s;]+)", line)
            if found:
                self.url = found.group(1)
                return


def upstream_count(fake: FakeV3) -> tuple[int, int]:
    """TUS creations and PATCH body bytes the upstream has received so far."""
    creations = fake.count("POST", "tus-create")
    patched = sum(size for method, route, size in fake.requests if method == "PATCH" and route == "tus-upload")
    return creations, patched


def round_problems(
    number: int, fake: FakeV3, session_id: str, data: bytes, before: tuple[int, int], answers: list[dict[str, Any]]
) -> list[str]:
    """What went wrong in one round (nothing, when exactly one upload went up and the other was refused)."""
    problems = []
    creations, patched = upstream_count(fake)
    uploads = [upload for upload in fake.uploads.values() if upload.session_id == session_id]
    if creations - before[0] != 1 or len(uploads) != 1:
        problems.append(f"round {number}: {creations - before[0]} TUS creations for one session")
    if patched - before[1] != len(data):
        problems.append(f"round {number}: {patched - before[1]} bytes sent upstream for a {len(data)}-byte file")
    if len(uploads) == 1 and bytes(uploads[0].data) != data:
        problems.append(f"round {number}: the bytes upstream differ from the file")
    statuses = sorted(answer["status"] for answer in answers)
    if statuses != [200, 400]:
        problems.append(f"round {number}: the two callers got {statuses}, not one 200 and one 400")
    for answer in answers:
        if answer["status"] == 200 and answer["answer"]["result"]["status"] != "uploaded":
            problems.append(f"round {number}: the winner got {answer['answer']}")
        if answer["status"] == 400 and answer["body"] != ALREADY:
            problems.append(f"round {number}: the loser got {answer['body']}")
    return problems


def test_two_legacy_client_processes_on_one_store_upload_a_session_once(fake: FakeV3, tmp_path: Path) -> None:
    store = tmp_path / "state.sqlite3"
    creator = LegacyClient(api_key=TOKEN, base_url=fake.base_url, store=store, chunk_size=CHUNK)
    racers = [Racer(fake.base_url, store), Racer(fake.base_url, store)]
    problems: list[str] = []
    try:
        for number in range(1, ROUNDS + 1):
            data = os.urandom(SIZE)
            media = tmp_path / f"talk-{number}.wav"
            media.write_bytes(data)
            session_id = creator.create_session("en")["result"]["session_id"]
            before = upstream_count(fake)
            for racer in racers:
                racer.send(json.dumps({"session_id": session_id, "file": str(media)}))
            for racer in racers:
                assert racer.message() == {"armed": True}
            for racer in racers:  # the barrier opens: both upload now
                racer.send("go")
            answers = [racer.message() for racer in racers]
            problems += round_problems(number, fake, session_id, data, before, answers)
    finally:
        for racer in racers:
            racer.stop()
        creator.close()
    assert problems == [], "\n".join(problems)
    assert fake.v1_calls == []


def test_two_gateways_on_one_store_upload_a_session_once(fake: FakeV3, tmp_path: Path) -> None:
    store = tmp_path / "state.sqlite3"
    gateways = [Gateway(fake.base_url, store), Gateway(fake.base_url, store)]
    problems: list[str] = []
    auth = {"x-zoom-s2t-key": TOKEN}
    barrier = threading.Barrier(2)

    def put(url: str, data: bytes) -> dict[str, Any]:
        headers = {**auth, "x-filename": "talk.wav", "Content-Type": "audio/wav"}
        barrier.wait(TIMEOUT)
        response = requests.put(url, data=data, headers=headers, timeout=TIMEOUT)
        if response.status_code == 200:
            return {"status": 200, "answer": response.json()}
        return {"status": response.status_code, "body": response.json()}

    try:
        with requests.Session() as http, ThreadPoolExecutor(2) as pool:
            for number in range(1, ROUNDS + 1):
                data = os.urandom(SIZE)
                created = http.post(f"{gateways[number % 2].url}{SESSIONS}", json={"language": "en"}, headers=auth)
                assert created.status_code == 200, created.text
                session_id = created.json()["result"]["session_id"]
                before = upstream_count(fake)
                calls = [pool.submit(put, f"{gateway.url}{SESSIONS}/{session_id}", data) for gateway in gateways]
                answers = [call.result(TIMEOUT) for call in calls]
                problems += round_problems(number, fake, session_id, data, before, answers)
    finally:
        for gateway in gateways:
            gateway.stop()
    assert problems == [], "\n".join(problems)
    assert fake.v1_calls == []
