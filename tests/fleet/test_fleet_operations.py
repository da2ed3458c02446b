"""Issue 13, item 3 (operations) on a fleet member: ``scriptix-compat gateway --workers 2`` on a
PostgreSQL store, as a process of its own (``tests/fleet_processes.py``).

* ``/_gateway/metrics`` adds up across the worker processes: whichever worker answers a scrape, it
  reports every worker's requests (prometheus_client's multiprocess mode).
* No secret reaches the metrics or the JSON access log: the token, a webhook URL's query, webhook and
  callback header values, V1 option values, a query string on a proxied call.
* ``/_gateway/ready`` follows the database: 503 naming the store while no connection can be made
  (``/_gateway/health`` still 200), 200 again once it can, without a restart.
"""

from __future__ import annotations

import json
import os
import queue
import re
import time
from collections.abc import Callable, Iterator

import pytest
import requests
from fake_v3 import FakeV3
from fleet_processes import SESSIONS, Gateway
from metrics_text import Samples, samples, value
from pg_guard import admin, database_of, terminate_connections
from pytest_httpserver import HTTPServer

TOKEN = "fleet-ops-token-8c41d2e7"
AUTH = {"x-zoom-s2t-key": TOKEN}
WAV = b"RIFF" + os.urandom(96 * 1024)
ACCESS = re.compile(r"compat\.gateway\.access\[(\d+)\] INFO \S+ \"POST /api/v3/speech-to-text/session\" 200 ")


def drain(gateway: Gateway) -> list[str]:
    """The gateway's stderr lines collected so far."""
    lines = []
    while True:
        try:
            lines.append(gateway.lines.get_nowait())
        except queue.Empty:
            return lines


def until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        time.sleep(0.1)


def scrape(url: str) -> tuple[str, Samples]:
    answer = requests.get(f"{url}/_gateway/metrics", timeout=15)
    assert answer.status_code == 200, answer.text
    return answer.text, samples(answer.text)


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeV3:
    return FakeV3(httpserver, token=TOKEN)


@pytest.fixture
def two_workers(fake: FakeV3, postgres_url: str) -> Iterator[Gateway]:
    gateway = Gateway(fake.base_url, postgres_url, "--workers", "2", chunk_size=64 * 1024)
    try:
        yield gateway
    finally:
        gateway.stop()


def test_the_metrics_add_up_across_the_worker_processes(two_workers: Gateway) -> None:
    gateway = two_workers
    served: list[str] = []  # the pid of the worker that answered each create, from its access log line

    def logged() -> int:
        served.extend(found.group(1) for found in map(ACCESS.search, drain(gateway)) if found)
        return len(served)

    creates = 0
    while len(set(served)) < 2:
        assert creates < 300, f"one worker took every connection: {set(served)}"
        with requests.Session() as client:  # a connection of its own: either worker may take it
            answer = client.post(f"{gateway.url}{SESSIONS}", json={"language": "en"}, headers=AUTH, timeout=15)
        assert answer.status_code == 200, answer.text
        creates += 1
        until(lambda n=creates: logged() >= n, 10, "the create's access log line")  # written once it was counted
    for _ in range(8):  # each scrape, whichever worker answers it, tells the sum
        _, found = scrape(gateway.url)
        requests_total = value(found, "scriptix_compat_requests_total", operation="create_session", status="200")
        legacy = value(found, "scriptix_compat_legacy_calls_total", operation="create_session", via="gateway")
        assert (requests_total, legacy) == (creates, creates)


SECRETS = {
    "token": TOKEN,
    "webhook query": "whq-secret-51f0a9c3",
    "webhook header": "whh-secret-93be27d1",
    "meta_data value": "meta-secret-2d7c11e8",
    "callback header": "cbh-secret-6a0f44b2",
    "callback query": "cbq-secret-0e8b35f7",
    "proxied query": "pxq-secret-77c2a910",
    "foreign token": "wrong-token-4b6e19a3",
}


def test_no_token_header_value_or_option_value_reaches_the_metrics_or_the_json_access_log(
    fake: FakeV3, postgres_url: str
) -> None:
    gateway = Gateway(fake.base_url, postgres_url, "--workers", "2", "--access-log", "json", chunk_size=64 * 1024)
    try:
        created = requests.post(
            f"{gateway.url}{SESSIONS}",
            json={
                "language": "en",
                "punctuation": True,
                "webhook_url": f"https://hooks.example.com/done?sig={SECRETS['webhook query']}",
                "webhook_method": "PUT",
                "webhook_headers": [f"X-Hook-Secret: {SECRETS['webhook header']}"],
                "meta_data": {"customer": SECRETS["meta_data value"]},
            },
            headers=AUTH,
            timeout=15,
        )
        assert created.status_code == 200, created.text
        session_id = created.json()["result"]["session_id"]
        calls = [
            requests.put(
                f"{gateway.url}{SESSIONS}/{session_id}",
                data=WAV,
                headers={**AUTH, "Content-Type": "audio/wav"},
                timeout=30,
            ),
            requests.get(f"{gateway.url}{SESSIONS}/{session_id}/result", headers=AUTH, timeout=15),
            requests.get(  # another token's call: refused
                f"{gateway.url}{SESSIONS}/{session_id}/result",
                headers={"x-zoom-s2t-key": SECRETS["foreign token"]},
                timeout=15,
            ),
            requests.delete(f"{gateway.url}{SESSIONS}/{session_id}", headers=AUTH, timeout=15),
            requests.post(
                f"{gateway.url}/api/v1/speech-to-text/session",
                json={
                    "language": "en",
                    "callback_url": f"https://hooks.example.com/zoom?key={SECRETS['callback query']}",
                    "callback_headers": [f"X-Callback-Secret: {SECRETS['callback header']}"],
                },
                headers=AUTH,
                timeout=15,
            ),
            requests.get(f"{gateway.url}/api/v3/anything?api_key={SECRETS['proxied query']}", headers=AUTH, timeout=15),
        ]
        statuses = [call.status_code for call in calls]
        assert statuses[0] == statuses[1] == statuses[3] == 200 and statuses[2] in (401, 404), statuses
        text, found = scrape(gateway.url)
        assert value(found, "scriptix_compat_requests_total", operation="upload", status="200") == 1
        entries: list[dict[str, object]] = []
        logged: list[str] = []

        def all_logged() -> bool:
            for line in drain(gateway):
                logged.append(line)
                if line.startswith("{"):
                    entries.append(json.loads(line))
            return len([e for e in entries if e["operation"] != "gateway_metrics"]) >= 1 + len(calls)

        until(all_logged, 15, "one JSON access line per request")
    finally:
        gateway.stop()
    logged += drain(gateway) + gateway.errors
    # two workers write their lines as they finish: in any order
    served = sorted(int(str(e["status"])) for e in entries if e["operation"] != "gateway_metrics")
    assert served == sorted([200, *statuses])
    assert {e["operation"] for e in entries} >= {"create_session", "upload", "get_result", "delete", "proxy"}
    everything = text + "\n" + "\n".join(logged)
    leaks = {name: everything.count(secret) for name, secret in SECRETS.items() if secret in everything}
    assert leaks == {}, leaks


def test_ready_is_503_naming_the_store_while_the_database_refuses_connections_and_200_after(
    two_workers: Gateway, postgres_url: str
) -> None:
    gateway = two_workers
    ready = requests.get(f"{gateway.url}/_gateway/ready", timeout=15)
    assert ready.status_code == 200, ready.text
    name = database_of(postgres_url)
    admin(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
    try:
        terminate_connections(postgres_url)
        answers: list[requests.Response] = []

        def refused() -> bool:
            answers.append(requests.get(f"{gateway.url}/_gateway/ready", timeout=15))
            return answers[-1].status_code == 503

        until(refused, 30, "ready turning 503")
        assert {a.status_code for a in answers} <= {200, 503}  # never a 500
        body = answers[-1].json()
        assert body["status"] == "not ready" and "store" in body["failed"], body
        assert body["checks"]["upstream"]["ok"] is True, body
        health = requests.get(f"{gateway.url}/_gateway/health", timeout=15)
        assert health.status_code == 200 and health.json()["status"] == "ok"
    finally:
        admin(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')

    def ready_again() -> bool:
        return requests.get(f"{gateway.url}/_gateway/ready", timeout=15).status_code == 200

    until(ready_again, 60, "ready back to 200 without a restart")
    assert gateway.process.poll() is None
