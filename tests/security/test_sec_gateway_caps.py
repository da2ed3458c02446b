"""Size caps of the gateway: request headers (64 KiB), the request body (``max_request_body_size``) and
the JSON body of a create call (``MAX_JSON_BODY``).

tests/gateway/test_gw_malformed.py has one oversized header and one body over the cap announced by
``Content-Length``. Here: headers over the cap made of many small ones, a request target over it, a
chunked body (no length announced) over the body cap on a V1 upload and on a proxied call, a chunked
JSON create over ``MAX_JSON_BODY``, and the edges (just under the header cap, exactly the body cap),
which are served. An over-cap request gets a 4xx, never a 5xx, and nothing of it reaches upstream.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from fake_v3 import FakeV3
from sec_helpers import SESSIONS, TOKEN

from compat.frontdoor.http import MAX_JSON_BODY
from compat.gateway import DEFAULT_MAX_HEADER, GatewayServer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gateway"))
from gateway_helpers import raw_http

MAX_BODY = 2 * MAX_JSON_BODY  # a JSON body can be over its own cap and still under the body cap


@pytest.fixture
def gateway(fake: FakeV3, tmp_path: Path) -> Iterator[tuple[GatewayServer, str]]:
    with GatewayServer(fake.base_url, store=tmp_path / "s.sqlite3", max_request_body_size=MAX_BODY) as server:
        created = requests.post(server.url + SESSIONS, json={"language": "en"}, headers={"x-zoom-s2t-key": TOKEN})
        fake.requests.clear()
        yield server, created.json()["result"]["session_id"]


def head(method: str, target: str, *lines: str) -> bytes:
    """A request head; the connection closes after the answer (no reader waits on an idle keep-alive)."""
    return "\r\n".join([f"{method} {target} HTTP/1.1", "Host: gw", "Connection: close", *lines, "", ""]).encode(
        "latin-1"
    )


def chunked(data: bytes, size: int = 64 * 1024) -> bytes:
    parts = [b"%x\r\n%s\r\n" % (len(data[i : i + size]), data[i : i + size]) for i in range(0, len(data), size)]
    return b"".join(parts) + b"0\r\n\r\n"


def send(url: str, request: bytes) -> tuple[int, bytes]:
    """Send what the server will take (it may stop reading at the cap), then read its answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        with contextlib.suppress(OSError):  # the server may answer and close before the end: the answer counts
            sock.sendall(request)
        data = b""
        while True:
            try:
                block = sock.recv(65536)
            except OSError:
                break
            if not block:
                break
            data += block
    status_line = data.split(b"\r\n", 1)[0]
    return int(status_line.split()[1]), data


def assert_refused(status: int, expected: int, fake: FakeV3) -> None:
    assert status == expected
    assert fake.requests == [] and fake.uploads == {}


AUTH = f"x-zoom-s2t-key: {TOKEN}"


def test_many_small_headers_over_the_cap_get_431(fake: FakeV3, gateway: tuple[GatewayServer, str]) -> None:
    server, _ = gateway
    padding = [f"X-Pad-{i}: {'x' * 1000}" for i in range(DEFAULT_MAX_HEADER // 1000 + 2)]
    request = head("POST", SESSIONS, AUTH, "Content-Type: application/json", *padding, "Content-Length: 2")
    request += b"{}"
    status, _ = send(server.url, request)
    assert_refused(status, 431, fake)


def test_headers_just_under_the_cap_are_served(fake: FakeV3, gateway: tuple[GatewayServer, str]) -> None:
    server, _ = gateway
    padding = [f"X-Pad-{i}: {'x' * 1000}" for i in range(DEFAULT_MAX_HEADER // 1000 - 4)]
    body = b'{"language": "en"}'
    request = head("POST", SESSIONS, AUTH, "Content-Type: application/json", *padding, f"Content-Length: {len(body)}")
    status, _, answer = raw_http(server.url, request + body)
    assert status == 200, answer
    assert len(fake.sessions) == 2


def test_a_request_target_over_the_header_cap_is_refused(fake: FakeV3, gateway: tuple[GatewayServer, str]) -> None:
    server, session_id = gateway
    target = f"{SESSIONS}/{session_id}/result?pad={'x' * (DEFAULT_MAX_HEADER + 10)}"
    status, _ = send(server.url, head("GET", target, AUTH))
    assert 400 <= status < 500 and status in (414, 431)
    assert fake.requests == []


@pytest.mark.parametrize("where", ["v1-upload", "proxied"])
def test_a_chunked_body_over_the_cap_gets_413_and_nothing_goes_upstream(
    fake: FakeV3, gateway: tuple[GatewayServer, str], where: str
) -> None:
    server, session_id = gateway
    target = f"{SESSIONS}/{session_id}" if where == "v1-upload" else "/api/v3/files/"
    kind = "Content-Type: audio/wav" if where == "v1-upload" else "Content-Type: application/offset+octet-stream"
    method = "PUT" if where == "v1-upload" else "POST"
    request = head(method, target, AUTH, kind, "Transfer-Encoding: chunked")
    status, _ = send(server.url, request + chunked(b"\0" * (MAX_BODY + 1)))
    assert_refused(status, 413, fake)


def test_a_body_of_exactly_the_cap_is_uploaded(fake: FakeV3, gateway: tuple[GatewayServer, str]) -> None:
    server, session_id = gateway
    data = bytes(range(256)) * (MAX_BODY // 256)
    answer = requests.put(
        f"{server.url}{SESSIONS}/{session_id}",
        data=data,
        headers={"x-zoom-s2t-key": TOKEN, "Content-Type": "audio/wav", "x-filename": "a.wav"},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    assert bytes(fake.only_upload().data) == data


def test_a_chunked_json_create_over_its_cap_gets_422_and_nothing_goes_upstream(
    fake: FakeV3, gateway: tuple[GatewayServer, str]
) -> None:
    server, _ = gateway
    body = json.dumps({"language": "en", "meta_data": {"pad": "x" * MAX_JSON_BODY}}).encode()
    assert MAX_JSON_BODY < len(body) < MAX_BODY
    request = head("POST", SESSIONS, AUTH, "Content-Type: application/json", "Transfer-Encoding: chunked")
    status, _, answer = raw_http(server.url, request + chunked(body))
    assert status == 422, answer
    assert "larger than" in json.loads(answer)["error"]
    assert fake.requests == []
