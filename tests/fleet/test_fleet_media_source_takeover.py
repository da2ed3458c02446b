"""Issue 13, item 2: replica A is SIGKILLed mid-``media_source`` job; the owner's next call on replica B
continues it.

The job is a session row in the shared PostgreSQL store whose upload claim (holder, lease) replica A
renews while the job runs. The media host holds A's download at ``HOLD`` bytes, once the upstream has
confirmed those bytes (a receipt per chunk in the store): the kill lands mid-transfer, with nothing in
flight. Replica B then knows nothing of the job but the row. The owner's next ``GET …/result`` on B
takes the claim over (atomically: one taker), fetches the media again and continues the TUS upload
from the server's offset, its bytes up to there checked against the receipts, not sent again. The
session reaches ``done``; one upload upstream, every byte once, the bytes identical, every V1 option
of the create in its metadata.

Two holders: one B can see is gone (the same machine: taken over at once), and one B cannot judge
(another host, as a fleet has): B answers ``uploading`` and leaves the job alone until the holder's
lease (``--claim-lease``) ran out, then takes it over.

A replica that was not dead but frozen (SIGSTOP, as a paused VM) for longer than its lease loses the
job the same way; when it wakes, its download of the media is broken. It must leave the session to
B: not delete it upstream, not forget it, not write over B's receipts.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from fake_v3 import FakeV3
from fleet_processes import (
    FLEET_OPTIONS,
    SESSIONS,
    TIMEOUT,
    Gateway,
    descendants,
    kill_every_process_of,
    upload_problems,
    upstream_count,
)
from pg_guard import admin
from pytest_httpserver import HTTPServer
from store_backends import Backend
from werkzeug import Request, Response

TOKEN = "fleet-job-token-2c8e51"
AUTH = {"x-zoom-s2t-key": TOKEN}
CHUNK = 64 * 1024
HOLD = 5 * CHUNK  # A's download stops here: five chunks up, the sixth not yet read
SIZE = 12 * CHUNK + 321
LEASE = 3.0
BACKGROUND = ("--allow-private-media", "--media-source-mode", "background", "--claim-lease", str(LEASE))
ANOTHER_HOST = "0" * 16 + "/1/1/a-replica-on-another-host"

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="SIGKILL and /proc (Linux)")


class HeldMedia:
    """``/talk.mp3`` on the media host: the first download stops at ``HOLD`` bytes until released."""

    def __init__(self, server: HTTPServer, data: bytes) -> None:
        self.data = data
        self.fetched_at: list[float] = []  # when each download began (epoch seconds)
        self.held = threading.Event()
        self.release = threading.Event()
        server.expect_request("/talk.mp3").respond_with_handler(self._serve)
        self.url = server.url_for("/talk.mp3")

    def _serve(self, request: Request) -> Response:
        self.fetched_at.append(time.time())
        first = len(self.fetched_at) == 1

        def blocks() -> Iterator[bytes]:
            for start in range(0, len(self.data), CHUNK):
                if first and start == HOLD:
                    self.held.set()
                    self.release.wait(TIMEOUT)
                    return  # its reader is dead by now
                yield self.data[start : start + CHUNK]

        return Response(blocks(), content_type="audio/mpeg", headers={"Content-Length": str(len(self.data))})


def result(gateway: Gateway, session_id: str) -> dict[str, Any]:
    answer = requests.get(f"{gateway.url}{SESSIONS}/{session_id}/result", headers=AUTH, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["result"])


def wait_for(condition: Any, what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not in {timeout:g} s"
        time.sleep(0.02)


@dataclass
class Bed:
    """Two replicas with background ``media_source`` jobs on one PostgreSQL store, the upstream, the media."""

    store: Backend
    fake: FakeV3
    data: bytes
    media: HeldMedia
    a: Gateway
    b: Gateway

    def start_job(self, **options: Any) -> str:
        """A create with ``media_source`` through replica A; the session id (the job runs in A)."""
        created = requests.post(
            f"{self.a.url}{SESSIONS}",
            json={"language": "en", "media_source": self.media.url, **options},
            headers=AUTH,
            timeout=TIMEOUT,
        )
        assert created.status_code == 200, created.text
        assert created.json()["result"]["status"] == "uploading"
        session_id = str(created.json()["result"]["session_id"])
        assert self.media.held.wait(TIMEOUT), "A's download never reached the hold"
        return session_id


@pytest.fixture
def bed(upstream: HTTPServer, media_server: HTTPServer, postgres_url: str) -> Iterator[Bed]:
    fake = FakeV3(upstream, token=TOKEN, finish_uploaded=True)
    data = os.urandom(SIZE)
    media = HeldMedia(media_server, data)
    replica_a = Gateway(fake.base_url, postgres_url, *BACKGROUND, chunk_size=CHUNK)
    replica_b = Gateway(fake.base_url, postgres_url, *BACKGROUND, chunk_size=CHUNK)
    try:
        yield Bed(Backend("postgresql", postgres_url), fake, data, media, replica_a, replica_b)
    finally:
        media.release.set()
        kill_every_process_of(replica_a)  # stopped (SIGSTOP) or not
        replica_b.stop()


@pytest.mark.parametrize("holder", ["same-host", "another-host"])
def test_a_media_source_job_of_a_killed_replica_is_continued_by_the_owners_next_call_on_another(
    holder: str, bed: Bed
) -> None:
    store, fake, media, replica_b = bed.store, bed.fake, bed.media, bed.b
    session_id = bed.start_job(**FLEET_OPTIONS)

    def receipted() -> int:
        rows = store.rows("SELECT SUM(length) AS n FROM upload_receipts WHERE session_id = ?", (session_id,))
        return int(rows[0]["n"] or 0)

    wait_for(lambda: receipted() == HOLD, "the receipts of the bytes before the hold")
    kill_every_process_of(bed.a)
    media.release.set()
    assert len(fake.only_upload().data) == HOLD
    row = store.row(session_id)
    assert row["state"] == "uploading" and row["claim_holder"] is not None

    if holder == "another-host":
        store.write("UPDATE sessions SET claim_holder = ? WHERE session_id = ?", (ANOTHER_HOST, session_id))
        lapses_at = float(row["claim_until"])
        assert admin("SELECT EXTRACT(EPOCH FROM clock_timestamp())::float8")[0][0] < lapses_at - 1.0
        assert result(replica_b, session_id)["status"] == "uploading"
        assert store.row(session_id)["claim_holder"] == ANOTHER_HOST, "taken from a holder that may live"
        assert len(media.fetched_at) == 1
        wait_for(
            lambda: result(replica_b, session_id)["status"] != "uploading" or len(media.fetched_at) > 1,
            "B taking the job over",
        )
        assert media.fetched_at[1] >= lapses_at - 0.05, "taken over before the holder's lease ran out"
    else:
        assert result(replica_b, session_id)["status"] == "uploading"  # this call took the job over
        wait_for(lambda: len(media.fetched_at) > 1, "B fetching the media again")

    wait_for(lambda: result(replica_b, session_id)["status"] != "uploading", "the continued job to end")
    final = result(replica_b, session_id)
    assert final["status"] == "done", final
    assert final["session_id"] == session_id and final["results"]
    assert len(media.fetched_at) == 2
    assert fake.count("POST", "session-create") == 1 and list(fake.sessions) == [session_id]
    assert fake.count("HEAD", "tus-head") >= 1  # B asked the server for its offset
    creations, patched = upstream_count(fake)
    assert creations == 1, "the job started a second upload instead of continuing"
    assert patched == len(bed.data), f"{patched - len(bed.data)} bytes sent upstream twice"
    assert upload_problems(fake, session_id, bed.data, FLEET_OPTIONS) == []  # bytes identical, every option
    assert fake.v1_calls == []


def test_a_replica_frozen_past_its_lease_leaves_the_job_it_lost_to_the_replica_that_took_it_over(bed: Bed) -> None:
    store, fake, media, replica_a, replica_b = bed.store, bed.fake, bed.media, bed.a, bed.b
    session_id = bed.start_job()
    wait_for(lambda: upstream_count(fake)[1] == HOLD, "the bytes before the hold upstream")
    frozen = [replica_a.process.pid, *descendants(replica_a.process.pid)]
    for pid in frozen:
        os.kill(pid, signal.SIGSTOP)
    try:
        # B takes the job over once A's lease ran out (A's processes live: only the lease tells) and ends it
        wait_for(lambda: result(replica_b, session_id)["status"] == "done", "B finishing the job A lost")
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
    media.release.set()  # A wakes to a broken download
    wait_for(
        lambda: (
            replica_a.printed(f"media_source job for session {session_id} stopped")
            or fake.count("DELETE", "session") > 0
        ),
        "A's job ending",
    )
    assert fake.count("DELETE", "session") == 0 and not fake.sessions[session_id].deleted, "A deleted B's session"
    row = store.row(session_id)
    assert row.get("state") == "uploaded", f"the store's row after A woke: {row}"
    assert result(replica_b, session_id)["status"] == "done"
    creations, patched = upstream_count(fake)
    assert creations == 1 and patched == len(bed.data)
    assert upload_problems(fake, session_id, bed.data, {}) == []
    assert fake.v1_calls == []
