"""Everything that is not a V1 call reaches the upstream unchanged, and its answer comes back unchanged."""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from fake_v3 import FakeV3
from gateway_helpers import GATEWAY_OPTIONS, SESSIONS, TOKEN, raw_http
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from compat.gateway import GatewayServer


def echo(request: Request) -> Response:
    """The request as the upstream saw it, as JSON, with an answer full of headers to pass back."""
    body = request.get_data()
    seen = {
        "method": request.method,
        "target": request.environ.get("REQUEST_URI"),
        "headers": {k.lower(): v for k, v in request.headers.items()},
        "length": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
    }
    response = Response(json.dumps(seen), status=201, content_type="application/json")
    response.headers.add("Set-Cookie", "a=1")
    response.headers.add("Set-Cookie", "b=2")
    response.headers["X-Upstream"] = "yes"
    response.headers["Cache-Control"] = "no-store"
    return response


@pytest.fixture
def echoing(upstream: HTTPServer) -> HTTPServer:
    upstream.expect_request("/anything").respond_with_handler(echo)
    return upstream


def test_a_v3_status_call_is_proxied_with_the_callers_token(fake: FakeV3, gateway: GatewayServer) -> None:
    headers = {"x-zoom-s2t-key": TOKEN}
    session_id = requests.post(f"{gateway.url}{SESSIONS}", json={"language": "en"}, headers=headers).json()["result"][
        "session_id"
    ]
    through = requests.get(f"{gateway.url}{SESSIONS}/{session_id}", headers=headers)
    direct = requests.get(f"{fake.base_url}{SESSIONS}/{session_id}", headers=headers)
    assert through.status_code == direct.status_code == 200
    assert through.content == direct.content
    assert through.json()["session_id"] == session_id
    assert fake.count("GET", "session") == 2
    assert requests.get(f"{gateway.url}{SESSIONS}/{session_id}").status_code == 401  # no token: upstream says so


def test_options_on_the_tus_endpoint_is_proxied(fake: FakeV3, gateway: GatewayServer) -> None:
    response = requests.options(f"{gateway.url}/api/v3/files/", headers={"x-zoom-s2t-key": TOKEN})
    assert response.status_code == 204
    assert response.headers["Tus-Version"] == "1.0.0"
    assert response.headers["Tus-Extension"] == "creation,termination"
    assert response.headers["Tus-Max-Size"] == "1073741824"
    assert fake.requests == [("OPTIONS", "tus-options", 0)]


def test_any_other_path_reaches_the_upstream_unchanged_and_its_answer_comes_back(
    echoing: HTTPServer, gateway: GatewayServer
) -> None:
    body = os.urandom(1024 * 1024 + 3)
    response = requests.post(
        f"{gateway.url}/anything?x=1&y=%2F&x=2",
        data=body,
        headers={
            "x-zoom-s2t-key": TOKEN,
            "Authorization": "Bearer also-theirs",
            "Content-Type": "application/octet-stream",
            "X-Custom": "kept",
            "Cookie": "session=abc",
            "X-Forwarded-For": "10.1.2.3",
            "Connection": "keep-alive, X-Hop",
            "X-Hop": "dropped: named by Connection",
            "Keep-Alive": "timeout=5",
            "TE": "trailers",
        },
    )
    assert response.status_code == 201
    seen = response.json()
    assert seen["method"] == "POST"
    assert seen["target"] == "/anything?x=1&y=%2F&x=2"
    assert (seen["length"], seen["sha256"]) == (len(body), hashlib.sha256(body).hexdigest())
    headers = seen["headers"]
    assert headers["x-zoom-s2t-key"] == TOKEN
    assert headers["authorization"] == "Bearer also-theirs"
    assert headers["content-type"] == "application/octet-stream"
    assert headers["x-custom"] == "kept"
    assert headers["cookie"] == "session=abc"
    assert headers["x-forwarded-for"] == "10.1.2.3"
    assert headers["user-agent"] == requests.utils.default_user_agent()
    assert headers["host"] == echoing.url_for("/").split("//")[1].rstrip("/")
    assert headers["content-length"] == str(len(body))
    for hop in ("x-hop", "keep-alive", "te", "transfer-encoding"):
        assert hop not in headers
    # The answer: status, headers (repeated ones kept apart), body.
    assert response.raw.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
    assert response.headers["X-Upstream"] == "yes"
    assert response.headers["Cache-Control"] == "no-store"


def test_the_gateway_adds_no_headers_of_its_own(echoing: HTTPServer, gateway: GatewayServer) -> None:
    status, _, body = raw_http(gateway.url, b"GET /anything HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
    assert status == 201
    headers = json.loads(body)["headers"]
    assert sorted(headers) == ["host"]  # no User-Agent, Accept-Encoding, Accept, Cookie of ours


def test_the_raw_target_is_sent_as_the_caller_wrote_it(echoing: HTTPServer, gateway: GatewayServer) -> None:
    target = b"/anything?z=%7E&p=a%2Fb&q=%C3%A9&empty=&flag"  # what a client could re-quote is left alone
    status, _, body = raw_http(gateway.url, b"GET " + target + b" HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
    assert status == 201
    assert json.loads(body)["target"] == target.decode()


def test_redirects_are_passed_back_not_followed(upstream: HTTPServer, gateway: GatewayServer) -> None:
    upstream.expect_request("/old").respond_with_data("", status=302, headers={"Location": "/new"})
    response = requests.get(f"{gateway.url}/old", allow_redirects=False)
    assert response.status_code == 302
    assert response.headers["Location"] == "/new"
    assert [entry[0].path for entry in upstream.log] == ["/old"]


def test_a_large_proxied_answer_streams_through(upstream: HTTPServer, gateway: GatewayServer) -> None:
    first = os.urandom(1024 * 1024)
    rest = os.urandom(31 * 1024 * 1024)
    release = threading.Event()

    def slow(request: Request) -> Response:
        def blocks() -> Iterator[bytes]:
            yield first
            release.wait(10)
            for start in range(0, len(rest), 1024 * 1024):
                yield rest[start : start + 1024 * 1024]

        return Response(blocks(), content_type="application/octet-stream", headers={"Content-Length": str(32 << 20)})

    upstream.expect_request("/big").respond_with_handler(slow)
    with requests.get(f"{gateway.url}/big", stream=True) as response:
        assert response.status_code == 200
        assert response.headers["Content-Length"] == str(32 << 20)
        chunks = response.iter_content(64 * 1024)
        received = b""
        while len(received) < len(first):
            received += next(chunks)
        assert not release.is_set()  # the first MiB arrived while the upstream was still holding the rest
        release.set()
        digest = hashlib.sha256(received)
        total = len(received)
        for chunk in chunks:
            digest.update(chunk)
            total += len(chunk)
    assert total == 32 << 20
    assert digest.hexdigest() == hashlib.sha256(first + rest).hexdigest()


def test_a_compressed_answer_stays_compressed(upstream: HTTPServer, gateway: GatewayServer) -> None:
    packed = gzip.compress(b"hello " * 10000)
    upstream.expect_request("/packed").respond_with_data(
        packed, headers={"Content-Encoding": "gzip"}, content_type="text/plain"
    )
    response = requests.get(f"{gateway.url}/packed", headers={"Accept-Encoding": "gzip"}, stream=True)
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["Content-Length"] == str(len(packed))
    assert response.raw.read(decode_content=False) == packed


def test_an_unreachable_upstream_is_a_502_and_a_silent_one_a_504(fake: FakeV3, tmp_path: Path) -> None:
    with GatewayServer("http://127.0.0.1:9", store=":memory:", max_retries=0) as dead:
        proxied = requests.get(f"{dead.url}/anything")
        translated = requests.post(f"{dead.url}{SESSIONS}", json={"language": "en"}, headers={"x-zoom-s2t-key": TOKEN})
    for response in (proxied, translated):
        assert response.status_code == 502
        assert response.json()["error"].startswith("Bad Gateway: ")
    options = {**GATEWAY_OPTIONS, "timeout": 0.3, "max_retries": 0}
    with GatewayServer(fake.base_url, store=tmp_path / "state.sqlite3", **options) as slow:
        headers = {"x-zoom-s2t-key": TOKEN}
        session_id = requests.post(f"{slow.url}{SESSIONS}", json={"language": "en"}, headers=headers).json()["result"][
            "session_id"
        ]
        fake.fail("GET", "session", ("stall", 1.0))
        fake.fail("GET", "result", ("stall", 1.0))
        proxied = requests.get(f"{slow.url}{SESSIONS}/{session_id}", headers=headers)
        translated = requests.get(f"{slow.url}{SESSIONS}/{session_id}/result", headers=headers)
    for response in (proxied, translated):
        assert response.status_code == 504
        assert response.json()["error"].startswith("Gateway Timeout: ")


def test_the_gateway_holds_no_token(echoing: HTTPServer, fake: FakeV3, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCRIPTIX_API_KEY", "a-key-in-the-environment")
    with GatewayServer(fake.base_url, store=":memory:") as gateway:
        proxied = requests.get(f"{gateway.url}/anything")
        create = requests.post(f"{gateway.url}{SESSIONS}", json={"language": "en"})
    headers = proxied.json()["headers"]
    assert "x-zoom-s2t-key" not in headers and "authorization" not in headers
    assert create.status_code == 401
    assert fake.requests == []


def test_an_unexpected_error_is_a_500_and_its_log_holds_no_token(
    fake: FakeV3, gateway: GatewayServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    token = f"never-registered-{os.urandom(6).hex()}"

    def broken(caller: str | None, session_id: str) -> dict[str, object]:
        raise RuntimeError(f"a bug that quotes its input: {caller} {session_id}")

    monkeypatch.setattr(gateway.app.translator, "get_result", broken)
    caplog.set_level(logging.ERROR, logger="compat.gateway")
    response = requests.get(f"{gateway.url}{SESSIONS}/abc/result", headers={"x-zoom-s2t-key": token})
    assert response.status_code == 500
    assert response.json() == {"error": "Internal error"}
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "compat.gateway")
    assert "a bug that quotes its input: <redacted> abc" in logged
    assert token not in logged
