"""Malformed V1 requests through the gateway: a 4xx with a JSON error, nothing upstream, never a 5xx."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from fake_v3 import FakeV3
from gateway_helpers import GATEWAY_OPTIONS, OTHER, SESSIONS, TOKEN, raw_http

from compat.frontdoor.http import MAX_JSON_BODY
from compat.gateway import GatewayServer

MAX_BODY = 8 * 1024 * 1024
AUTH = {"x-zoom-s2t-key": TOKEN}
JSON = {**AUTH, "Content-Type": "application/json"}
MEDIA = {**AUTH, "Content-Type": "audio/wav", "x-filename": "talk.wav"}


@dataclass
class Case:
    """One malformed request; ``{sid}`` in the path is a session the caller owns."""

    name: str
    status: int
    method: str = "POST"
    path: str = SESSIONS
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    raw: bytes | None = None  # sent as is on a socket (what requests refuses to send)
    json_error: bool = True  # False: refused by waitress itself (plain-text body), before the application


def create(body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {"body": json.dumps(body).encode(), "headers": headers or JSON}


def multipart(*parts: tuple[str, str, bytes]) -> tuple[bytes, str]:
    boundary = "b0undary"
    chunks = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n\r\n'.encode()
        + data
        + b"\r\n"
        for name, filename, data in parts
    ]
    return b"".join(chunks) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


ALIGN_BODY, ALIGN_TYPE = multipart(("media_file", "talk.wav", b"RIFF...."))

CASES = [
    # create ---------------------------------------------------------------------------------
    Case("bad JSON", 415, body=b'{"language": "en"', headers=JSON),
    Case("JSON not UTF-8", 415, body=b'{"language": "\xff\xfe"}', headers=JSON),
    Case("body is a JSON array", 422, **create(["en"])),
    Case("text/plain content type", 415, body=b'{"language": "en"}', headers={**AUTH, "Content-Type": "text/plain"}),
    Case("no content type", 415, body=b'{"language": "en"}', headers=AUTH),
    Case(
        "form content type",
        415,
        body=b"language=en",
        headers={**AUTH, "Content-Type": "application/x-www-form-urlencoded"},
    ),
    Case("missing language", 400, **create({"punctuation": True})),
    Case("language not a string", 400, **create({"language": 7})),
    Case("language with a newline", 400, **create({"language": "en\n"})),
    Case("punctuation as a string", 422, **create({"language": "en", "punctuation": "true"})),
    Case("keep_source as a number", 422, **create({"language": "en", "keep_source": 1})),
    Case("multichannel null", 422, **create({"language": "en", "multichannel": None})),
    Case(
        "webhook_method GET",
        422,
        **create({"language": "en", "webhook_url": "https://h.example/x", "webhook_method": "GET"}),
    ),
    Case(
        "webhook_headers not a list",
        422,
        **create({"language": "en", "webhook_url": "https://h.example", "webhook_headers": "A: b"}),
    ),
    Case(
        "webhook header with CRLF",
        422,
        **create({"language": "en", "webhook_url": "https://h.example", "webhook_headers": ["A: b\r\nX-Evil: 1"]}),
    ),
    Case("webhook_url ftp", 422, **create({"language": "en", "webhook_url": "ftp://h.example/x"})),
    Case("webhook_method without webhook_url", 422, **create({"language": "en", "webhook_method": "POST"})),
    Case("media_source file://", 422, **create({"language": "en", "media_source": "file:///etc/passwd"})),
    Case("media_source to loopback", 422, **create({"language": "en", "media_source": "http://127.0.0.1:1/x.mp3"})),
    Case(
        "media_source to cloud metadata", 422, **create({"language": "en", "media_source": "http://169.254.169.254/"})
    ),
    Case("oversized JSON", 422, **create({"language": "en", "meta_data": {"pad": "x" * MAX_JSON_BODY}})),
    Case("no token", 401, body=b'{"language": "en"}', headers={"Content-Type": "application/json"}),
    Case(
        "empty Bearer token",
        401,
        body=b'{"language": "en"}',
        headers={"Authorization": "Bearer ", "Content-Type": "application/json"},
    ),
    # upload ---------------------------------------------------------------------------------
    Case(
        "x-filename with a path",
        400,
        "PUT",
        f"{SESSIONS}/{{sid}}",
        {**MEDIA, "x-filename": "../../etc/passwd"},
        b"RIFF",
    ),
    Case("x-filename with a tab", 400, "PUT", f"{SESSIONS}/{{sid}}", {**MEDIA, "x-filename": "a\tb.wav"}, b"RIFF"),
    Case(
        "x-filename too long", 400, "PUT", f"{SESSIONS}/{{sid}}", {**MEDIA, "x-filename": "a" * 300 + ".wav"}, b"RIFF"
    ),
    Case(
        "CR/LF in x-filename",
        400,
        raw=b"PUT "
        + SESSIONS.encode()
        + b"/{sid} HTTP/1.1\r\nHost: gw\r\nx-zoom-s2t-key: "
        + TOKEN.encode()
        + b"\r\nContent-Type: audio/wav\r\nx-filename: a.wav\rX-Evil: 1\r\nContent-Length: 4\r\nConnection: close"
        b"\r\n\r\nRIFF",
        json_error=False,
    ),
    Case("session id ..%2F..%2Fetc", 404, "PUT", f"{SESSIONS}/..%2F..%2Fetc", MEDIA, b"RIFF"),
    Case("session id %2E%2E", 404, "PUT", f"{SESSIONS}/%2E%2E", MEDIA, b"RIFF"),
    Case("session id with a dot", 404, "PUT", f"{SESSIONS}/a.b", MEDIA, b"RIFF"),
    Case("empty PUT body", 400, "PUT", f"{SESSIONS}/{{sid}}", MEDIA, b""),
    Case("PUT as text/plain", 415, "PUT", f"{SESSIONS}/{{sid}}", {**MEDIA, "Content-Type": "text/plain"}, b"RIFF"),
    Case(
        "PUT as audio/ without subtype", 415, "PUT", f"{SESSIONS}/{{sid}}", {**MEDIA, "Content-Type": "audio/"}, b"RIFF"
    ),
    Case("PUT without token", 401, "PUT", f"{SESSIONS}/{{sid}}", {"Content-Type": "audio/wav"}, b"RIFF"),
    Case(
        "PUT to another token's session", 404, "PUT", f"{SESSIONS}/{{sid}}", {**MEDIA, "x-zoom-s2t-key": OTHER}, b"RIFF"
    ),
    # align ----------------------------------------------------------------------------------
    Case("align not multipart", 415, "POST", f"{SESSIONS}/{{sid}}/align", JSON, b"{}"),
    Case(
        "align without transcript_file",
        422,
        "POST",
        f"{SESSIONS}/{{sid}}/align",
        {**AUTH, "Content-Type": ALIGN_TYPE},
        ALIGN_BODY,
    ),
    Case(
        "align with a broken multipart body",
        422,
        "POST",
        f"{SESSIONS}/{{sid}}/align",
        {**AUTH, "Content-Type": "multipart/form-data; boundary=zzz"},
        b"--zzz\r\nnot a part",
    ),
    # result / delete ------------------------------------------------------------------------
    Case("result without token", 401, "GET", f"{SESSIONS}/{{sid}}/result"),
    Case("result of another token's session", 404, "GET", f"{SESSIONS}/{{sid}}/result", {"x-zoom-s2t-key": OTHER}),
    Case("result of ..%2F..%2Fetc", 404, "GET", f"{SESSIONS}/..%2F..%2Fetc/result", AUTH),
    Case("delete with another token", 404, "DELETE", f"{SESSIONS}/{{sid}}", {"x-zoom-s2t-key": OTHER}),
    # limits of the server itself ------------------------------------------------------------
    Case(
        "huge headers",
        431,
        raw=b"POST "
        + SESSIONS.encode()
        + b" HTTP/1.1\r\nHost: gw\r\nX-Pad: "
        + b"x" * (70 * 1024)
        + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        json_error=False,
    ),
    Case(
        "body over max_request_body_size",
        413,
        raw=b"PUT "
        + SESSIONS.encode()
        + b"/{sid} HTTP/1.1\r\nHost: gw\r\nContent-Type: audio/wav\r\n"
        + f"Content-Length: {MAX_BODY + 1}\r\nConnection: close\r\n\r\n".encode(),
        json_error=False,
    ),
    Case(
        "Content-Length not a number",
        400,
        raw=b"PUT " + SESSIONS.encode() + b"/{sid} HTTP/1.1\r\nHost: gw\r\nContent-Length: 12abc\r\n"
        b"Connection: close\r\n\r\n",
        json_error=False,
    ),
]


@pytest.fixture
def guarded(fake: FakeV3, tmp_path: Path) -> Iterator[tuple[GatewayServer, str]]:
    """A gateway (media must be public, bodies up to 8 MiB) and a session it knows TOKEN owns."""
    with GatewayServer(
        fake.base_url, store=tmp_path / "state.sqlite3", max_request_body_size=MAX_BODY, **GATEWAY_OPTIONS
    ) as gateway:
        created = requests.post(f"{gateway.url}{SESSIONS}", json={"language": "en"}, headers=AUTH)
        created.raise_for_status()
        fake.requests.clear()
        yield gateway, created.json()["result"]["session_id"]


def test_there_are_at_least_twenty_cases() -> None:
    assert len(CASES) >= 20
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_malformed_request_gets_a_4xx_and_nothing_reaches_the_upstream(
    case: Case, fake: FakeV3, guarded: tuple[GatewayServer, str]
) -> None:
    gateway, session_id = guarded
    if case.raw is not None:
        status, headers, body = raw_http(gateway.url, case.raw.replace(b"{sid}", session_id.encode()))
    else:
        response = requests.request(
            case.method, gateway.url + case.path.format(sid=session_id), headers=case.headers, data=case.body
        )
        status, headers, body = (
            response.status_code,
            {k.lower(): v for k, v in response.headers.items()},
            response.content,
        )
    assert status == case.status, body
    if case.json_error:
        assert headers["content-type"] == "application/json"
        error = json.loads(body)["error"]
        assert isinstance(error, str) and error
    if case.headers.get("x-zoom-s2t-key") == OTHER:
        # another token's session: upstream is only asked, with that token, whether the token is valid
        assert fake.requests == [("GET", "session", 0)]
    else:
        assert fake.requests == []
    assert fake.uploads == {}
    assert fake.v1_calls == []
