"""CR, LF and other control characters in ``x-filename`` and in ``webhook_headers``.

Through the three ways in: ``LegacyClient``, ``compat.install()`` (plain ``requests``) and the
gateway. A webhook header line is passed on to Scriptix, which sends it as an HTTP header: one with a
line break would let a caller add headers (or a whole request) to the webhook. A file name ends up in
the TUS metadata and in V1 answers. Each is refused with a V1 4xx before anything goes upstream,
whatever its spelling (CR LF, a lone CR or LF, an obs-fold continuation, NUL, in the name or the
value, in ``document.webhook_headers`` or under the old ``callback_headers`` name); where an HTTP
layer on the way already refuses the header (``requests`` on the client side, h11 in the
gateway), no request is made at all; where it reads the bytes as two header lines (a lone LF,
RFC 9112 2.2) or one unfolded line (obs-fold, 5.2), the name that arrives has no control character.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from fake_v3 import FakeV3
from sec_helpers import LEGACY, SESSIONS, TOKEN
from werkzeug.test import Client

import compat
from compat import LegacyClient, ScriptixError
from compat.gateway import GatewayServer, make_app

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gateway"))
from gateway_helpers import raw_http

AUTH = {"x-zoom-s2t-key": TOKEN}
HOOK = "https://hooks.example.com/done"

HEADER_LINES = {
    "crlf": "X-Token: abc\r\nX-Evil: 1",
    "lone-lf": "X-Token: abc\nX-Evil: 1",
    "lone-cr": "X-Token: abc\rX-Evil: 1",
    "obs-fold": "X-Token: abc\r\n\tX-Evil: 1",
    "nul": "X-Token: abc\x00",
    "in-the-name": "X-Evil\r\nX-Token: abc",
    "a-second-request": "X-Token: abc\r\n\r\nGET /admin HTTP/1.1",
    "trailing-crlf": "X-Token: abc\r\n",
}


def body_with(where: str, line: str) -> dict[str, Any]:
    if where == "webhook_headers":
        return {"language": "en", "webhook_url": HOOK, "webhook_headers": [line]}
    if where == "callback_headers":
        return {"language": "en", "callback_url": HOOK, "callback_headers": ["X-Ok: 1", line]}
    if where == "document.webhook_headers":
        return {"language": "en", "document": {"webhook_url": HOOK, "webhook_headers": [line]}}
    return {"language": "en", "webhook_url": HOOK + line.split(":", 1)[1]}  # webhook_url itself


@pytest.fixture
def app(fake: FakeV3) -> Iterator[Client]:
    gateway = make_app(fake.base_url, store=":memory:")
    yield Client(gateway)
    gateway.close()


def create_through(front: str, fake: FakeV3, app: Client, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    if front == "legacy":
        client = LegacyClient(api_key=TOKEN, base_url=fake.base_url, store=":memory:")
        fields = {k: v for k, v in body.items() if k != "language"}
        try:
            return 200, client.create_session(body["language"], **fields)
        except ScriptixError as exc:
            return int(exc.status_code or 0), exc.body
    if front == "install":
        with compat.install(base_url=fake.base_url, legacy_base_url=LEGACY, store=":memory:"):
            answer = requests.post(LEGACY + SESSIONS, json=body, headers=AUTH, timeout=10)
        return answer.status_code, answer.json()
    served = app.post(SESSIONS, json=body, headers=AUTH)
    return served.status_code, served.json


@pytest.mark.parametrize("front", ["legacy", "install", "gateway"])
@pytest.mark.parametrize("where", ["webhook_headers", "callback_headers", "document.webhook_headers", "webhook_url"])
@pytest.mark.parametrize("trick", list(HEADER_LINES), ids=list(HEADER_LINES))
def test_a_line_break_in_a_webhook_header_is_refused_before_anything_goes_upstream(
    fake: FakeV3, app: Client, front: str, where: str, trick: str
) -> None:
    status, answer = create_through(front, fake, app, body_with(where, HEADER_LINES[trick]))
    assert status == 422, answer
    assert isinstance(answer["error"], str) and where.split(".")[-1].replace("callback", "webhook") in answer["error"]
    assert fake.requests == [] and fake.sessions == {}


# x-filename -----------------------------------------------------------------------------------------

FILENAMES = {
    "crlf": "a.wav\r\nX-Evil: 1",
    "lone-lf": "a.wav\nX-Evil: 1",
    "lone-cr": "a.wav\rX-Evil: 1",
    "nul": "a\x00.wav",
    "vertical-tab": "a\x0b.wav",
    "del": "a\x7f.wav",
}


@pytest.mark.parametrize("trick", list(FILENAMES), ids=list(FILENAMES))
def test_a_control_character_in_x_filename_is_refused_by_legacy_client(fake: FakeV3, trick: str) -> None:
    client = LegacyClient(api_key=TOKEN, base_url=fake.base_url, store=":memory:")
    session_id = client.create_session("en")["result"]["session_id"]
    before = len(fake.requests)
    with pytest.raises(ScriptixError) as caught:
        client.upload(session_id, io.BytesIO(b"RIFF"), filename=FILENAMES[trick], content_type="audio/wav")
    assert caught.value.status_code == 400 and "x-filename" in caught.value.body["error"]
    assert len(fake.requests) == before and fake.uploads == {}


@pytest.mark.parametrize("trick", list(FILENAMES), ids=list(FILENAMES))
def test_a_control_character_in_x_filename_never_reaches_upstream_through_install(fake: FakeV3, trick: str) -> None:
    with compat.install(base_url=fake.base_url, legacy_base_url=LEGACY, store=":memory:"):
        created = requests.post(LEGACY + SESSIONS, json={"language": "en"}, headers=AUTH, timeout=10)
        session_id = created.json()["result"]["session_id"]
        before = len(fake.requests)
        headers = {**AUTH, "Content-Type": "audio/wav", "x-filename": FILENAMES[trick]}
        try:
            answer = requests.put(f"{LEGACY}{SESSIONS}/{session_id}", data=b"RIFF", headers=headers, timeout=10)
        except requests.exceptions.InvalidHeader:
            answer = None  # plain requests refuses to send a line break in a header: nothing was sent
    if answer is not None:
        assert answer.status_code == 400 and "x-filename" in answer.json()["error"]
    else:
        assert "\r" in FILENAMES[trick] or "\n" in FILENAMES[trick]
    assert len(fake.requests) == before and fake.uploads == {}


# On the wire a CR LF ends the header line (what follows is another header), so the gateway's cases are
# what can be inside one line: a lone CR or LF, other controls, and an obs-fold continuation.
RAW_FILENAMES = {
    **{k: v.encode("latin-1") for k, v in FILENAMES.items() if k != "crlf"},
    "obs-fold": b"a.wav\r\n X-Evil: 1",
}


@pytest.mark.parametrize("trick", list(RAW_FILENAMES), ids=list(RAW_FILENAMES))
def test_a_control_character_in_x_filename_never_reaches_upstream_through_the_gateway(
    fake: FakeV3, tmp_path: Path, trick: str
) -> None:
    with GatewayServer(fake.base_url, store=tmp_path / "s.sqlite3") as gateway:
        created = requests.post(gateway.url + SESSIONS, json={"language": "en"}, headers=AUTH, timeout=10)
        session_id = created.json()["result"]["session_id"]
        before = len(fake.requests)
        request = (
            f"PUT {SESSIONS}/{session_id} HTTP/1.1\r\nHost: gw\r\nx-zoom-s2t-key: {TOKEN}\r\n"
            "Content-Type: audio/wav\r\nx-filename: ".encode()
            + RAW_FILENAMES[trick]
            + b"\r\nContent-Length: 4\r\nConnection: close\r\n\r\nRIFF"
        )
        status, _, body = raw_http(gateway.url, request)
    if trick in ("obs-fold", "lone-lf"):
        # h11 unfolds an obs-fold into a space (RFC 9112 5.2), and takes a lone LF as the end of the
        # line (2.2: "X-Evil: 1" is one more header of the caller's own): a plain, if odd, name.
        assert status == 200, body
        name = fake.only_upload().metadata["filename"]
        assert not any(c in name for c in "\r\n\0")
        return
    assert status == 400, body
    assert len(fake.requests) == before and fake.uploads == {}
