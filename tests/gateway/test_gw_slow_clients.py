"""Slow and idle clients cannot starve the gateway (issue 12, item 4).

A flood of connections that send a byte a second (a request head that never ends, or a body), or
nothing at all, comes from 127.0.0.2; meanwhile a normal client on 127.0.0.1 creates a session, PUTs
1 MiB and reads the result, each call in under 2 s, and the health endpoint answers (200). Then each
defence on its own: the header/idle timeout, the body idle timeout and minimum rate (408, a V1 JSON
error, the session still takes a retried PUT), the per-address cap (429), the in-flight cap (503),
and an early refusal that still lets a client which sends its whole body first read the answer.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from fake_v3 import FakeV3
from gateway_helpers import GATEWAY_OPTIONS, SESSIONS, TOKEN
from slow_clients import FLOOD_ADDRESS, Flood, NormalClient

from compat.gateway import GatewayServer, ServerOptions

AUTH = {"x-zoom-s2t-key": TOKEN}
MEDIA = {**AUTH, "Content-Type": "audio/wav", "x-filename": "talk.wav"}
LIMIT = 2.0  # seconds each normal call may take under a flood


def serve_normal_client(gateway: GatewayServer, flood: Flood) -> NormalClient:
    """Cycles of the normal client for as long as the flood runs."""
    normal = NormalClient(gateway.url, TOKEN)
    deadline = time.monotonic() + flood.seconds - 1
    while time.monotonic() < deadline:
        normal.cycle(SESSIONS)
        time.sleep(0.2)
    return normal


def assert_served(normal: NormalClient, cycles: int) -> None:
    assert normal.failures == []
    assert all(len(normal.timings.get(name, [])) >= cycles for name in ("health", "create", "put", "result")), (
        normal.timings
    )
    slowest = normal.slowest()
    assert all(slowest[name] < LIMIT for name in ("create", "put", "result")), slowest  # health: answered (200)


def test_500_connections_trickling_a_request_head_for_20_s_do_not_slow_a_normal_client(
    fake: FakeV3, tmp_path: Path
) -> None:
    with GatewayServer(fake.base_url, store=tmp_path / "s.sqlite3", **GATEWAY_OPTIONS) as gateway:
        flood = Flood(gateway.url, 500, "header", seconds=20).start()
        try:
            normal = serve_normal_client(gateway, flood)
        finally:
            flood.join()
    assert flood.errors == [] and flood.peak == 500
    assert_served(normal, cycles=5)
    # none of them got anything but a closed connection, once the header timeout (10 s) ran out
    evicted = [c for c in flood.closed if c.status is None]
    assert len(evicted) >= 450, len(flood.closed)
    assert all(8.0 <= c.age <= 16.0 for c in evicted), sorted(c.age for c in evicted)[:5]
    assert fake.count("POST", "session-create") == len(normal.timings["create"])


def test_500_connections_trickling_their_bodies_get_429_beyond_the_per_client_cap_and_408_within(
    fake: FakeV3, tmp_path: Path
) -> None:
    body_head = (
        f"POST {SESSIONS} HTTP/1.1\r\nHost: gw\r\nx-zoom-s2t-key: {TOKEN}\r\nContent-Type: application/json\r\n"
        "Content-Length: 1000000\r\n\r\n"
    ).encode()
    with GatewayServer(fake.base_url, store=tmp_path / "s.sqlite3", **GATEWAY_OPTIONS) as gateway:
        flood = Flood(gateway.url, 500, "body", seconds=16, head=body_head).start()
        try:
            normal = serve_normal_client(gateway, flood)
        finally:
            flood.join()
    assert flood.errors == []
    assert_served(normal, cycles=4)
    statuses = [c.status for c in flood.closed]
    per_client = ServerOptions().per_client
    assert statuses.count(429) >= 500 - per_client  # that many in flight from the address; the rest refused at once
    # those admitted sent too little: cut once the minimum rate was judged (10 s of waiting)
    timed_out = [c for c in flood.closed if c.status == 408]
    assert len(timed_out) >= per_client and all(9.0 <= c.age <= 14.0 for c in timed_out), timed_out[:3]
    assert fake.count("POST", "session-create") == len(normal.timings["create"])  # none of the flood's


def test_idle_connections_are_closed_at_the_header_timeout_and_fill_nothing(fake: FakeV3, tmp_path: Path) -> None:
    options = {**GATEWAY_OPTIONS, "header_timeout": 1.5, "max_inflight": 8, "per_client": 4}
    with GatewayServer(fake.base_url, store=tmp_path / "s.sqlite3", **options) as gateway:
        flood = Flood(gateway.url, 300, "idle", seconds=6).start()
        try:
            normal = serve_normal_client(gateway, flood)
        finally:
            flood.join()
    assert flood.errors == []
    assert_served(normal, cycles=2)
    first_wave = [c for c in flood.closed if c.age < 5]
    assert len(first_wave) >= 300 and all(c.status is None and 1.0 <= c.age <= 4.0 for c in first_wave)


# One defence at a time ----------------------------------------------------------------------------


def connect(gateway: GatewayServer, source: str = "127.0.0.1") -> socket.socket:
    host, port = gateway.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=15, source_address=(source, 0))


def read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        block = sock.recv(65536)
        if not block:
            break
        data += block
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    while len(body) < int(headers.get("content-length", "0")):
        block = sock.recv(65536)
        if not block:
            break
        body += block
    return int(lines[0].split()[1]), headers, body


def put_head(session_id: str, length: int) -> bytes:
    return (
        f"PUT {SESSIONS}/{session_id} HTTP/1.1\r\nHost: gw\r\nx-zoom-s2t-key: {TOKEN}\r\nContent-Type: audio/wav\r\n"
        f"x-filename: talk.wav\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


@contextmanager
def gateway_with(fake: FakeV3, tmp_path: Path, **options: Any) -> Iterator[tuple[GatewayServer, str]]:
    with GatewayServer(fake.base_url, store=tmp_path / "s.sqlite3", **{**GATEWAY_OPTIONS, **options}) as gateway:
        created = requests.post(gateway.url + SESSIONS, json={"language": "en"}, headers=AUTH, timeout=10)
        yield gateway, created.json()["result"]["session_id"]


def test_a_put_whose_body_stalls_gets_408_json_and_the_session_takes_the_put_again(
    fake: FakeV3, tmp_path: Path
) -> None:
    data = b"RIFF" + os.urandom(300 * 1024)
    with gateway_with(fake, tmp_path, body_idle_timeout=1.0) as (gateway, session_id):
        with connect(gateway) as sock:
            sock.sendall(put_head(session_id, len(data)) + data[: 100 * 1024])  # then nothing
            started = time.monotonic()
            status, headers, body = read_answer(sock)
            waited = time.monotonic() - started
        assert status == 408, body
        assert headers["content-type"] == "application/json" and headers["connection"] == "close"
        assert "no body bytes for 1 s" in json.loads(body)["error"]
        assert 0.8 <= waited <= 5.0
        again = requests.put(f"{gateway.url}{SESSIONS}/{session_id}", data=data, headers=MEDIA, timeout=30)
    assert again.status_code == 200, again.text
    assert again.json()["result"]["status"] == "uploaded"
    assert bytes(fake.only_upload().data) == data


def test_a_body_slower_than_the_minimum_rate_gets_408(fake: FakeV3, tmp_path: Path) -> None:
    answer: list[tuple[int, dict[str, str], bytes]] = []
    options = {"min_body_rate": 1000.0, "min_rate_grace": 1.0}
    with gateway_with(fake, tmp_path, **options) as (gateway, session_id), connect(gateway) as sock:
        sock.sendall(put_head(session_id, 100_000))
        reader = threading.Thread(target=lambda: answer.append(read_answer(sock)))
        reader.start()
        for _ in range(40):  # 20 bytes a second: never idle for long, always far too slow
            if not reader.is_alive():
                break
            try:
                sock.send(b"x")
            except OSError:
                break
            time.sleep(0.05)
        reader.join(10)
    status, _, body = answer[0]
    assert status == 408
    assert "slower than 1000 bytes/s" in json.loads(body)["error"]
    assert fake.uploads == {}


def test_a_create_whose_json_body_stalls_gets_408_and_nothing_goes_upstream(fake: FakeV3, tmp_path: Path) -> None:
    with gateway_with(fake, tmp_path, body_idle_timeout=1.0) as (gateway, _):
        before = list(fake.requests)
        with connect(gateway) as sock:
            sock.sendall(
                f"POST {SESSIONS} HTTP/1.1\r\nHost: gw\r\nx-zoom-s2t-key: {TOKEN}\r\n"
                'Content-Type: application/json\r\nContent-Length: 40\r\n\r\n{"language": '.encode()
            )
            status, _, body = read_answer(sock)
    assert status == 408 and "error" in json.loads(body)
    assert fake.requests == before


def test_a_proxied_body_that_stalls_gets_408(fake: FakeV3, tmp_path: Path) -> None:
    with gateway_with(fake, tmp_path, body_idle_timeout=1.0) as (gateway, _), connect(gateway) as sock:
        sock.sendall(
            f"PATCH /api/v3/files/f1 HTTP/1.1\r\nHost: gw\r\nx-zoom-s2t-key: {TOKEN}\r\n"
            "Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\nTus-Resumable: 1.0.0\r\n"
            "Content-Length: 500000\r\n\r\n".encode()
            + b"x" * 300_000
        )
        status, _, body = read_answer(sock)
    assert status == 408, body
    assert "no body bytes" in json.loads(body)["error"]


def test_requests_in_flight_per_client_address_are_capped_with_429(fake: FakeV3, tmp_path: Path) -> None:
    with gateway_with(fake, tmp_path, per_client=2, body_idle_timeout=30.0) as (gateway, session_id):
        held = [connect(gateway, FLOOD_ADDRESS) for _ in range(2)]
        try:
            for sock in held:
                sock.sendall(put_head(session_id, 1000) + b"RIFF")  # in flight: waiting for the rest of the body
            wait_for_inflight(gateway, 2)
            with connect(gateway, FLOOD_ADDRESS) as third:
                third.sendall(put_head(session_id, 1000))
                status, headers, body = read_answer(third)
            other = requests.get(f"{gateway.url}{SESSIONS}/{session_id}/result", headers=AUTH, timeout=10)
        finally:
            for sock in held:
                sock.close()
    assert status == 429 and headers["connection"] == "close" and headers["retry-after"] == "1"
    assert "2 requests in flight from this address" in json.loads(body)["error"]
    assert other.status_code == 200  # another address is not held back


def test_requests_in_flight_per_worker_are_capped_with_503_and_health_still_answers(
    fake: FakeV3, tmp_path: Path
) -> None:
    with gateway_with(fake, tmp_path, max_inflight=2, per_client=0, body_idle_timeout=30.0) as (gateway, session_id):
        held = [connect(gateway) for _ in range(2)]
        try:
            for sock in held:
                sock.sendall(put_head(session_id, 1000) + b"RIFF")
            wait_for_inflight(gateway, 2)
            refused = requests.get(f"{gateway.url}{SESSIONS}/{session_id}/result", headers=AUTH, timeout=10)
            health = requests.get(f"{gateway.url}/_gateway/health", timeout=10)
        finally:
            for sock in held:
                sock.close()
    assert refused.status_code == 503 and "error" in refused.json()
    assert health.status_code == 200 and health.json()["status"] == "ok"


def wait_for_inflight(gateway: GatewayServer, count: int) -> None:
    deadline = time.monotonic() + 10
    while gateway.bridge.inflight < count:
        assert time.monotonic() < deadline, gateway.bridge.inflight
        time.sleep(0.01)


def test_an_early_refusal_reaches_a_client_that_sends_its_whole_body_before_reading(
    fake: FakeV3, tmp_path: Path
) -> None:
    """8 MiB is more than the sockets hold: the gateway reads and drops the rest after its answer, so a
    client that writes everything before it reads (as most do) gets the answer, not a reset."""
    data = os.urandom(8 * 1024 * 1024)
    with gateway_with(fake, tmp_path) as (gateway, session_id), connect(gateway) as sock:
        head = put_head(session_id, len(data)).replace(f"x-zoom-s2t-key: {TOKEN}\r\n".encode(), b"")  # no token
        sock.sendall(head + data)
        status, headers, body = read_answer(sock)
    assert status == 401 and "error" in json.loads(body)
    assert headers["connection"] == "close"
    assert fake.uploads == {}


def test_answers_keep_the_connection_open_when_the_body_was_read(fake: FakeV3, tmp_path: Path) -> None:
    with gateway_with(fake, tmp_path) as (gateway, session_id), requests.Session() as session:
        put = session.put(f"{gateway.url}{SESSIONS}/{session_id}", data=b"RIFF" * 1000, headers=MEDIA, timeout=30)
        result = session.get(f"{gateway.url}{SESSIONS}/{session_id}/result", headers=AUTH, timeout=10)
    assert put.status_code == 200 and result.status_code == 200
    assert "connection" not in put.headers and "connection" not in result.headers


def test_a_header_with_an_underscore_is_dropped_not_read_as_its_dashed_twin(fake: FakeV3, tmp_path: Path) -> None:
    with gateway_with(fake, tmp_path) as (gateway, session_id):
        answer = requests.get(
            f"{gateway.url}{SESSIONS}/{session_id}/result", headers={"x_zoom_s2t_key": TOKEN}, timeout=10
        )
    assert answer.status_code == 401


@pytest.mark.parametrize("length", [0, 10])
def test_health_ignores_a_body_and_answers(fake: FakeV3, tmp_path: Path, length: int) -> None:
    with gateway_with(fake, tmp_path) as (gateway, _):
        answer = requests.get(f"{gateway.url}/_gateway/health", data=b"x" * length, timeout=10)
    assert answer.status_code == 200 and answer.json()["status"] == "ok"


def test_a_chunked_body_past_the_cap_that_keeps_coming_gets_413_and_its_connection_closed(
    fake: FakeV3, tmp_path: Path
) -> None:
    """The body is cut at the cap (413) while the client goes on sending: the server must keep taking
    what arrives until it has closed the connection (a full queue nobody empties held it open)."""
    chunk = b"%x\r\n%s\r\n" % (65536, b"\0" * 65536)
    with gateway_with(fake, tmp_path, max_body_size=1024 * 1024) as (gateway, session_id), connect(gateway) as sock:
        head = put_head(session_id, 0).replace(b"Content-Length: 0", b"Transfer-Encoding: chunked")
        sock.sendall(head)
        sock.settimeout(0.2)
        with contextlib.suppress(OSError):  # as much as the server takes before it closes
            for _ in range(256):  # 16 MiB
                sock.sendall(chunk)
        sock.settimeout(10)
        status, _, body = read_answer(sock)
        rest = b""
        with contextlib.suppress(ConnectionResetError):
            while block := sock.recv(65536):
                rest += block
    assert status == 413 and "over 1048576 bytes" in json.loads(body)["error"]
    assert rest == b""  # and then the connection closed (a reset counts too)
    assert fake.uploads == {}
