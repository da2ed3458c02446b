"""Issue 10, item 5: two processes sharing a store upload one session's media twice.

The one-upload-per-session rule lived only in process memory. Now it is a claim taken atomically
in the store. Two ``LegacyClient`` processes on one store, and two gateway processes on one store,
race to upload the media of one session, 20 rounds each, on each backend (a SQLite file; a
PostgreSQL database, issue 13 item 1): every round exactly one upload reaches the upstream (one TUS
creation, every byte once), and the loser gets V1's 400 "media was already uploaded for this
session" with nothing sent upstream. The processes are those of ``tests/fleet_processes.py``.

Each round releases both uploaders at once (a barrier), so their calls overlap.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from fake_v3 import FakeV3
from fleet_processes import SESSIONS, TIMEOUT, Gateway, LegacyProcess, round_problems, upstream_count
from pytest_httpserver import HTTPServer
from store_backends import Backend

from compat import LegacyClient

ROUNDS = 20
KIB = 1024
SIZE = 384 * KIB + 11  # seven PATCHes of 64 KiB: long enough for the two calls to overlap
CHUNK = 64 * KIB
TOKEN = "claim-race-token-3b9e1d"


def racer(fake: FakeV3, store: str) -> LegacyProcess:
    return LegacyProcess(fake.base_url, store, token=TOKEN, chunk_size=CHUNK)


@pytest.fixture
def fake(upstream: HTTPServer) -> FakeV3:
    return FakeV3(upstream, token=TOKEN)  # threaded: both uploads are served at once


def test_two_legacy_client_processes_on_one_store_upload_a_session_once(
    fake: FakeV3, tmp_path: Path, store_backend: Backend
) -> None:
    store = store_backend.value
    creator = LegacyClient(api_key=TOKEN, base_url=fake.base_url, store=store, chunk_size=CHUNK)
    store_backend.opened.append(creator.v3.store)
    racers = [racer(fake, store), racer(fake, store)]
    problems: list[str] = []
    try:
        for number in range(1, ROUNDS + 1):
            data = os.urandom(SIZE)
            media = tmp_path / f"talk-{number}.wav"
            media.write_bytes(data)
            session_id = creator.create_session("en")["result"]["session_id"]
            before = upstream_count(fake)
            for member in racers:
                member.arm(session_id, media)
            for member in racers:  # the barrier opens: both upload now
                member.go()
            answers = [member.message() for member in racers]
            problems += round_problems(number, fake, session_id, data, before, answers)
    finally:
        for member in racers:
            member.stop()
        creator.close()
    assert problems == [], "\n".join(problems)
    assert fake.v1_calls == []


def test_two_gateways_on_one_store_upload_a_session_once(fake: FakeV3, store_backend: Backend) -> None:
    store = store_backend.value
    gateways = [Gateway(fake.base_url, store, chunk_size=CHUNK), Gateway(fake.base_url, store, chunk_size=CHUNK)]
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
