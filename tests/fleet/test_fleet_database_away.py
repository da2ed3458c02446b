"""Issue 13: the PostgreSQL store goes away under two gateway replicas, and comes back.

Two callers run V1 calls through two replicas on one PostgreSQL database (each creates through one
replica, then reads the result, PUTs the media, reads again and deletes through the other) while the
test first kills every connection to the database five times over (as a restart or a failover
does), then makes the database refuse every connection (``ALLOW_CONNECTIONS false``, its connections
killed: the database is away) until both replicas have answered a call, then lets it back. The
server itself is shared with other tests and never stopped; only the test's own database is touched.

Every call is answered, within a client timeout, either as it would be or 503 with a V1 error body:
never a 500, never a hang. While the database is away both replicas answer 503; afterwards both
serve calls again, without a restart.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
from fake_v3 import FakeV3
from fleet_processes import SESSIONS, Gateway
from pg_guard import admin, database_of, terminate_connections
from pytest_httpserver import HTTPServer

TOKEN = "fleet-away-token-61f0d3"
AUTH = {"x-zoom-s2t-key": TOKEN}
CLIENT_TIMEOUT = 30.0  # a call not answered by then is a hang
UNAVAILABLE = "Service Unavailable: the shim's state store cannot be used"
MEDIA = os.urandom(96 * 1024)


@dataclass
class Call:
    phase: str
    replica: int
    operation: str
    status: int  # 0: no answer (timeout, connection error)
    body: Any
    seconds: float


class Run:
    """The calls of the callers, each recorded with the phase the database was in when it began."""

    def __init__(self, replicas: list[Gateway]) -> None:
        self.replicas = replicas
        self.phase = "up"
        self.calls: list[Call] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def call(self, http: requests.Session, replica: int, operation: str, method: str, path: str, **kw: Any) -> Call:
        phase, started = self.phase, time.monotonic()
        try:
            response = http.request(method, f"{self.replicas[replica].url}{path}", timeout=CLIENT_TIMEOUT, **kw)
            status, body = response.status_code, response.json()
        except (requests.RequestException, ValueError) as exc:
            status, body = 0, repr(exc)
        call = Call(phase, replica, operation, status, body, time.monotonic() - started)
        with self.lock:
            self.calls.append(call)
        return call

    def caller(self, home: int) -> None:
        other = 1 - home
        with requests.Session() as http:
            while not self.stop.is_set():
                created = self.call(http, home, "create", "POST", SESSIONS, json={"language": "en"}, headers=AUTH)
                if created.status != 200:
                    continue
                path = f"{SESSIONS}/{created.body['result']['session_id']}"
                self.call(http, other, "result", "GET", f"{path}/result", headers=AUTH)
                headers = {**AUTH, "x-filename": "talk.wav", "Content-Type": "audio/wav"}
                self.call(http, other, "put", "PUT", path, data=MEDIA, headers=headers)
                self.call(http, home, "result", "GET", f"{path}/result", headers=AUTH)
                self.call(http, other, "delete", "DELETE", path, headers=AUTH)

    def seen(self, phase: str, status: int, replica: int, operation: str | None = None) -> bool:
        with self.lock:
            return any(
                c.phase == phase and c.status == status and c.replica == replica and operation in (None, c.operation)
                for c in self.calls
            )

    def wait(self, condition: Any, what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"{what}: not in {timeout:g} s; calls: {self.calls[-10:]}"
            time.sleep(0.05)


def allow_connections(url: str, allowed: bool) -> None:
    admin(f'ALTER DATABASE "{database_of(url)}" ALLOW_CONNECTIONS {"true" if allowed else "false"}')


def test_the_database_going_away_costs_503s_never_500s_or_hangs_and_two_replicas_recover(
    upstream: HTTPServer, postgres_url: str
) -> None:
    fake = FakeV3(upstream, token=TOKEN)
    replicas = [Gateway(fake.base_url, postgres_url), Gateway(fake.base_url, postgres_url)]
    run = Run(replicas)
    callers = [threading.Thread(target=run.caller, args=(home,), daemon=True) for home in (0, 1)]
    try:
        for thread in callers:
            thread.start()
        for replica in (0, 1):
            run.wait(lambda replica=replica: run.seen("up", 200, replica, "put"), f"replica {replica} serving")
        run.phase = "killed"
        for _ in range(5):  # as a restarted server or a failover: every connection ends at once
            terminate_connections(postgres_url)
            time.sleep(0.3)
        run.phase = "away"
        allow_connections(postgres_url, False)
        try:
            terminate_connections(postgres_url)
            for replica in (0, 1):
                run.wait(lambda replica=replica: run.seen("away", 503, replica), f"a 503 from replica {replica}")
        finally:
            allow_connections(postgres_url, True)
        run.phase = "back"
        for replica in (0, 1):
            for operation in ("create", "put", "delete"):
                run.wait(
                    lambda replica=replica, operation=operation: run.seen("back", 200, replica, operation),
                    f"replica {replica} serving {operation} again",
                )
        run.stop.set()
        for thread in callers:
            thread.join(2 * CLIENT_TIMEOUT)
            assert not thread.is_alive(), "a caller hangs"
        assert all(replica.process.poll() is None for replica in replicas), "a replica stopped"
    finally:
        run.stop.set()
        for replica in replicas:
            replica.stop()
    unanswered = [call for call in run.calls if call.status == 0]
    assert unanswered == [], f"calls without an answer (a hang or a dropped connection): {unanswered}"
    wrong = [call for call in run.calls if call.status not in (200, 503)]
    assert wrong == [], f"answers neither a success nor a 503: {wrong}"
    unavailable = [call for call in run.calls if call.status == 503]
    assert all(set(call.body) == {"error"} and call.body["error"].startswith(UNAVAILABLE) for call in unavailable)
    assert all(call.phase != "up" for call in unavailable), "a 503 while the database was up"
    assert max(call.seconds for call in run.calls) < CLIENT_TIMEOUT
    assert fake.v1_calls == []
