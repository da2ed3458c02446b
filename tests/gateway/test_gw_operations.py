"""Issue 13, item 3 (operations), in one gateway process: ``/_gateway/ready``, ``/_gateway/metrics`` and
the JSON access log. The same across worker processes and on PostgreSQL: tests/fleet/test_fleet_operations.py.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from fake_v3 import FakeV3
from gateway_helpers import GATEWAY_OPTIONS, REPO, SESSIONS, TOKEN
from metrics_text import moved, samples, value
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response
from werkzeug.test import Client

from compat.gateway import GatewayServer, make_app
from compat.gateway.readiness import PROBE_TIMEOUT, PROBE_TTL
from compat.store.schema import latest_version

AUTH = {"x-zoom-s2t-key": TOKEN}
WAV = b"RIFF" + os.urandom(150 * 1024)
BIG = b"RIFF" + os.urandom(5 * 1024 * 1024 // 2)
HELD = 3 * 1024 * 1024 // 2  # more than the server's bridge gathers (1 MiB) before the upload starts


def scrape(gateway: GatewayServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = requests.get(f"{gateway.url}/_gateway/metrics", timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("text/plain")
    return samples(answer.text)


@pytest.fixture
def silent_upstream() -> Iterator[str]:
    """A port that takes connections (the kernel's backlog) and never answers a byte."""
    with socket.create_server(("127.0.0.1", 0), backlog=64) as sock:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


# /_gateway/ready ---------------------------------------------------------------------------------


def test_ready_answers_200_with_each_check_and_health_stays_a_liveness_check(
    gateway: GatewayServer, fake: FakeV3
) -> None:
    ready = requests.get(f"{gateway.url}/_gateway/ready", timeout=10)
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "ready"
    assert body["checks"]["store"] == {"ok": True, "detail": f"schema version {latest_version()}"}
    assert body["checks"]["upstream"]["ok"] is True
    assert fake.count("OPTIONS", "tus-options") == 1  # the upstream probe: one unauthenticated OPTIONS
    assert requests.get(f"{gateway.url}/_gateway/health", timeout=10).json()["status"] == "ok"
    assert requests.post(f"{gateway.url}/_gateway/ready", timeout=10).status_code == 405


def test_a_draining_gateway_is_not_ready(fake: FakeV3) -> None:
    app = make_app(fake.base_url, store=":memory:")
    try:
        client = Client(app)
        assert client.get("/_gateway/ready").status_code == 200
        app.draining = True  # as on SIGTERM: the load balancer takes the replica out at once
        ready = client.get("/_gateway/ready")
        assert ready.status_code == 503 and ready.get_json()["status"] == "draining"
        assert client.get("/_gateway/health").status_code == 503
    finally:
        app.close()


@pytest.mark.parametrize("kind", ["silent", "closed"])
def test_ready_answers_503_naming_the_upstream_when_it_does_not_answer(
    kind: str, silent_upstream: str, tmp_path: Path
) -> None:
    if kind == "silent":
        upstream = silent_upstream
    else:
        with socket.create_server(("127.0.0.1", 0)) as sock:
            upstream = f"http://127.0.0.1:{sock.getsockname()[1]}"  # closed again: connections are refused
    with GatewayServer(upstream, store=tmp_path / "state.sqlite3", **GATEWAY_OPTIONS) as gateway:
        started = time.monotonic()
        ready = requests.get(f"{gateway.url}/_gateway/ready", timeout=30)
        took = time.monotonic() - started
        health = requests.get(f"{gateway.url}/_gateway/health", timeout=10)
    assert ready.status_code == 503, ready.text
    body = ready.json()
    assert body["status"] == "not ready" and body["failed"] == ["upstream"]
    assert body["checks"]["store"]["ok"] is True
    assert "upstream" in body["error"]
    assert took < PROBE_TIMEOUT + 5  # bounded: never a hang
    assert health.status_code == 200


def test_ready_answers_503_while_the_store_schema_is_not_the_current_one_and_200_again_after(
    fake: FakeV3, tmp_path: Path
) -> None:
    path = tmp_path / "state.sqlite3"
    with GatewayServer(fake.base_url, store=path, **GATEWAY_OPTIONS) as gateway:
        assert requests.get(f"{gateway.url}/_gateway/ready", timeout=10).status_code == 200
        with sqlite3.connect(path) as db:
            db.execute("UPDATE meta SET value = ? WHERE name = 'schema_version'", (str(latest_version() + 1),))
        time.sleep(PROBE_TTL)  # the cached result expires (not a speed assertion)
        stale = requests.get(f"{gateway.url}/_gateway/ready", timeout=10)
        with sqlite3.connect(path) as db:
            db.execute("UPDATE meta SET value = ? WHERE name = 'schema_version'", (str(latest_version()),))
        time.sleep(PROBE_TTL)
        again = requests.get(f"{gateway.url}/_gateway/ready", timeout=10)
    assert stale.status_code == 503, stale.text
    assert stale.json()["failed"] == ["store"]
    assert f"schema version is {latest_version() + 1}" in stale.json()["checks"]["store"]["detail"]
    assert again.status_code == 200, again.text


def test_a_storm_of_ready_probes_reaches_the_upstream_about_once_per_second(
    gateway: GatewayServer, fake: FakeV3
) -> None:
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        statuses = list(
            pool.map(lambda _: requests.get(f"{gateway.url}/_gateway/ready", timeout=10).status_code, range(80))
        )
    elapsed = time.monotonic() - started
    assert statuses == [200] * 80
    assert 1 <= fake.count("OPTIONS", "tus-options") <= elapsed / PROBE_TTL + 2


# /_gateway/metrics -------------------------------------------------------------------------------


def test_the_metrics_parse_and_their_counters_move_as_the_calls_do(gateway: GatewayServer, fake: FakeV3) -> None:
    before = scrape(gateway)
    created = requests.post(f"{gateway.url}{SESSIONS}", json={"language": "en"}, headers=AUTH, timeout=10)
    session_id = created.json()["result"]["session_id"]
    put = requests.put(
        f"{gateway.url}{SESSIONS}/{session_id}", data=WAV, headers={**AUTH, "Content-Type": "audio/wav"}, timeout=30
    )
    fake.fail("GET", "result", 503)  # one upstream 5xx: retried by the transport
    result = requests.get(f"{gateway.url}{SESSIONS}/{session_id}/result", headers=AUTH, timeout=30)
    deleted = requests.delete(f"{gateway.url}{SESSIONS}/{session_id}", headers=AUTH, timeout=10)
    failed = requests.post(
        f"{gateway.url}{SESSIONS}", data=b"{not json", headers={**AUTH, "Content-Type": "application/json"}, timeout=10
    )
    fake.fail("GET", "unknown", 502)  # a proxied call the upstream fails
    proxied = requests.get(f"{gateway.url}/api/v3/anything", headers=AUTH, timeout=10)
    assert [created.status_code, put.status_code, result.status_code, deleted.status_code] == [200] * 4
    assert proxied.status_code == 502
    assert 400 <= failed.status_code < 500  # refused before anything went upstream
    after = scrape(gateway)

    requests_total = "scriptix_compat_requests_total"
    for operation, status in [
        ("create_session", "200"),
        ("upload", "200"),
        ("get_result", "200"),
        ("delete", "200"),
        ("create_session", str(failed.status_code)),
        ("proxy", "502"),
        ("gateway_metrics", "200"),  # the first scrape, counted once its answer was sent
    ]:
        assert moved(before, after, requests_total, operation=operation, status=status) == 1, (operation, status)
    for operation in ("upload", "get_result", "delete"):
        assert moved(before, after, "scriptix_compat_legacy_calls_total", operation=operation, via="gateway") == 1
    assert moved(before, after, "scriptix_compat_legacy_calls_total", operation="create_session", via="gateway") == 2
    assert moved(before, after, "scriptix_compat_upload_bytes_total") == len(WAV)
    assert moved(before, after, "scriptix_compat_upload_duration_seconds_count", outcome="ok") == 1
    assert moved(before, after, "scriptix_compat_upstream_errors_total", kind="status_5xx") == 2  # result, proxy
    assert moved(before, after, "scriptix_compat_upstream_retries_total", kind="request") == 1
    assert value(after, "scriptix_compat_transfers_in_flight", kind="upload") == 0
    assert moved(before, after, "scriptix_compat_request_duration_seconds_count", operation="upload") == 1


def test_uploads_and_media_source_jobs_in_flight_are_gauges(
    fake: FakeV3, media_server: HTTPServer, tmp_path: Path
) -> None:
    release = threading.Event()

    def slow_media(request: Request) -> Response:
        release.wait(30)
        return Response(WAV, content_type="audio/wav")

    media_server.expect_request("/slow.wav").respond_with_handler(slow_media)
    body_started, body_go = threading.Event(), threading.Event()
    in_flight = "scriptix_compat_transfers_in_flight"
    with GatewayServer(
        fake.base_url,
        store=tmp_path / "state.sqlite3",
        allow_private_media=True,
        media_source_mode="background",
        **GATEWAY_OPTIONS,
    ) as gateway:
        idle = scrape(gateway)
        job = requests.post(
            f"{gateway.url}{SESSIONS}",
            json={"language": "en", "media_source": media_server.url_for("/slow.wav")},
            headers=AUTH,
            timeout=10,
        )
        assert job.status_code == 200, job.text
        session = requests.post(f"{gateway.url}{SESSIONS}", json={"language": "en"}, headers=AUTH, timeout=10)
        session_id = session.json()["result"]["session_id"]
        with ThreadPoolExecutor(1) as pool:
            put = pool.submit(_held_put, gateway.url, f"{SESSIONS}/{session_id}", BIG, HELD, body_started, body_go)
            assert body_started.wait(10)
            busy = _wait_for(
                gateway,
                lambda s: value(s, in_flight, kind="upload") >= 1 and value(s, in_flight, kind="media_source") >= 1,
            )
            body_go.set()
            release.set()
            answer = put.result()
            assert answer.startswith(b"HTTP/1.1 200 "), answer
        done = _wait_for(gateway, lambda s: value(s, in_flight, kind="media_source") == 0)
    assert value(idle, in_flight, kind="upload") == 0 and value(idle, in_flight, kind="media_source") == 0
    assert value(busy, in_flight, kind="upload") == 1
    assert value(busy, in_flight, kind="media_source") == 1
    assert value(done, in_flight, kind="upload") == 0


def _held_put(url: str, path: str, data: bytes, held: int, started: threading.Event, go: threading.Event) -> bytes:
    """A PUT of ``data`` on a connection of its own that stops after ``held`` bytes until ``go``; the answer."""
    host, port = url.removeprefix("http://").split(":")
    head = (
        f"PUT {path} HTTP/1.1\r\nHost: gw\r\nx-zoom-s2t-key: {TOKEN}\r\nContent-Type: audio/wav\r\n"
        f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head + data[:held])
        started.set()
        go.wait(30)
        sock.sendall(data[held:])
        answer = b""
        while block := sock.recv(65536):
            answer += block
    return answer


def _wait_for(
    gateway: GatewayServer, condition: object, timeout: float = 20.0
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    deadline = time.monotonic() + timeout
    while True:
        found = scrape(gateway)
        if condition(found) or time.monotonic() > deadline:  # type: ignore[operator]
            return found
        time.sleep(0.05)


def test_without_prometheus_client_the_metrics_answer_501_and_the_gateway_runs() -> None:
    program = textwrap.dedent(
        """
        import json, sys
        sys.modules["prometheus_client"] = None  # as if the extra were not installed
        from werkzeug.test import Client
        from compat.gateway import make_app
        app = make_app("http://127.0.0.1:9", store=":memory:")
        client = Client(app)
        metrics = client.get("/_gateway/metrics")
        health = client.get("/_gateway/health")
        print(json.dumps([metrics.status_code, metrics.get_json(), health.status_code, app.metrics is None]))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", program], cwd=REPO, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    status, body, health, none = json.loads(out.strip().splitlines()[-1])
    assert status == 501
    assert "pip install 'scriptix-compat[metrics]'" in body["error"]
    assert health == 200 and none is True


# the access log ----------------------------------------------------------------------------------


def test_the_json_access_log_has_one_object_per_request_without_query_or_headers(
    fake: FakeV3, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="compat.gateway.access")
    secret_query = "query-secret-9d1e"
    with GatewayServer(fake.base_url, store=tmp_path / "s.sqlite3", access_log="json", **GATEWAY_OPTIONS) as gateway:
        created = requests.post(f"{gateway.url}{SESSIONS}", json={"language": "en"}, headers=AUTH, timeout=10)
        proxied = requests.get(f"{gateway.url}/api/v3/anything?api_key={secret_query}", headers=AUTH, timeout=10)
    lines = [r.getMessage() for r in caplog.records if r.name == "compat.gateway.access"]
    entries = [json.loads(line) for line in lines]
    assert len(entries) == 2
    create, proxy = entries
    assert set(create) == {
        "time", "client", "method", "path", "operation", "status", "duration", "bytes_in", "bytes_out"
    }  # fmt: skip
    assert create["operation"] == "create_session" and create["method"] == "POST" and create["path"] == SESSIONS
    assert create["status"] == created.status_code == 200
    assert create["bytes_out"] == len(created.content) and create["bytes_in"] == len(b'{"language": "en"}')
    assert create["client"] == "127.0.0.1" and create["time"].endswith("Z") and create["duration"] >= 0
    assert proxy["operation"] == "proxy" and proxy["path"] == "/api/v3/anything"
    assert proxy["status"] == proxied.status_code
    assert secret_query not in "\n".join(lines) and TOKEN not in "\n".join(lines)
