"""Issue 10, item 4: UTF-8 in ``x-filename`` was garbled.

A raw UTF-8 header value (``日本 talk.wav``) arrived upstream as ``æ\\u0097¥…`` through the gateway
and ``install()``: header bytes were taken as ISO-8859-1 (as WSGI servers hand them over, and as the
interceptor decoded ``bytes``). Bytes that are valid UTF-8 are now read as UTF-8; other bytes stay
ISO-8859-1, and what the gateway proxies unchanged still leaves byte for byte as it came.
"""

from __future__ import annotations

import io
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from fake_v3 import FakeV3
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from compat import LegacyClient, ScriptixError, install
from compat.gateway import GatewayServer

TOKEN = "item-04-token"
LEGACY = "https://api.scriptix.io"  # intercepted by install(); never reached
SESSIONS = "/api/v3/speech-to-text/session"
NAME = "日本 talk.wav"

# (what the caller puts in x-filename, the name it meant)
SPELLINGS: dict[str, tuple[str | bytes, str]] = {
    "UTF-8 bytes": (NAME.encode("utf-8"), NAME),
    "UTF-8 accents": ("Café — ação.wav".encode(), "Café — ação.wav"),
    "Latin-1 bytes (not UTF-8)": ("café.wav".encode("latin-1"), "café.wav"),
    "Latin-1 text": ("café.wav", "café.wav"),
    "ASCII": ("talk.wav", "talk.wav"),
}


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Names other than loopback ones do not resolve: nothing escapes to the internet."""
    real = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in ("localhost", "::1") and not name.startswith("127."):
            raise socket.gaierror(socket.EAI_NONAME, f"tests resolve no name but loopback ({name})")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeV3:
    return FakeV3(httpserver, token=TOKEN)


@pytest.fixture
def gateway(fake: FakeV3) -> Iterator[GatewayServer]:
    """The gateway on waitress: the header bytes go over a real socket and through a real WSGI server."""
    with GatewayServer(fake.base_url, store=":memory:", backoff_base=0.001) as server:
        yield server


def created(base: str) -> str:
    answer = requests.post(base + SESSIONS, json={"language": "en"}, headers={"x-zoom-s2t-key": TOKEN}, timeout=30)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["result"]["session_id"])


def upload(base: str, session_id: str, filename: str | bytes) -> requests.Response:
    headers: dict[str, str | bytes] = {"x-zoom-s2t-key": TOKEN, "Content-Type": "audio/wav", "x-filename": filename}
    return requests.put(f"{base}{SESSIONS}/{session_id}", data=b"RIFF....", headers=headers, timeout=30)


def assert_named(answer: requests.Response, fake: FakeV3, meant: str) -> None:
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"]["filename"] == meant
    assert fake.only_upload().metadata["filename"] == meant  # the TUS metadata sent upstream


@pytest.mark.parametrize(("sent", "meant"), list(SPELLINGS.values()), ids=list(SPELLINGS))
def test_the_gateway_keeps_the_name_the_caller_meant(
    fake: FakeV3, gateway: GatewayServer, sent: str | bytes, meant: str
) -> None:
    assert_named(upload(gateway.url, created(gateway.url), sent), fake, meant)


@pytest.mark.parametrize(
    ("sent", "meant"),
    [*SPELLINGS.values(), (NAME, NAME)],
    ids=[*SPELLINGS, "text beyond Latin-1 (kept as it is)"],
)
def test_install_keeps_the_name_the_caller_meant(fake: FakeV3, sent: str | bytes, meant: str) -> None:
    with install(base_url=fake.base_url, store=":memory:", max_retries=0):
        assert_named(upload(LEGACY, created(LEGACY), sent), fake, meant)


def test_a_proxied_request_keeps_its_header_bytes(fake: FakeV3, httpserver: HTTPServer) -> None:
    """Only V1 calls read headers as text: what the gateway proxies leaves with the bytes that came."""
    arrived: list[str] = []
    done = threading.Event()

    def record(request: Request) -> Response:
        arrived.append(request.headers["x-filename"])  # werkzeug hands bytes over as ISO-8859-1 text
        done.set()
        return Response("ok")

    httpserver.expect_oneshot_request("/elsewhere").respond_with_handler(record)
    with GatewayServer(fake.base_url, store=":memory:") as gateway:
        answer = requests.get(gateway.url + "/elsewhere", headers={"x-filename": NAME.encode()}, timeout=30)
    assert answer.status_code == 200 and done.is_set()
    assert arrived == [NAME.encode().decode("latin-1")]


# C1 control characters (U+0080-U+009F) are refused, as C0 ones are --------------------------------

C1_SPELLINGS: dict[str, str | bytes] = {
    "UTF-8 NEL (U+0085)": "a\u0085b.wav".encode(),
    "UTF-8 U+009F": "\u009fb.wav".encode(),
    "UTF-8 U+0080 among other UTF-8": "日本\u0080.wav".encode(),
    "a Latin-1 byte 0x85 (not UTF-8: read as U+0085)": b"a\x85b.wav",
    "a Latin-1 byte 0x9b (CSI)": b"\x9b31mred.wav",
}
REFUSED = (400, {"error": "Invalid data: x-filename must be a plain file name (no paths or control characters)"})


def refused_before_upstream(answer: requests.Response, fake: FakeV3) -> None:
    assert (answer.status_code, answer.json()) == REFUSED
    assert fake.count("POST", "tus-create") == 0 and fake.uploads == {}


@pytest.mark.parametrize("sent", list(C1_SPELLINGS.values()), ids=list(C1_SPELLINGS))
def test_the_gateway_refuses_a_c1_control_in_x_filename(fake: FakeV3, gateway: GatewayServer, sent: bytes) -> None:
    refused_before_upstream(upload(gateway.url, created(gateway.url), sent), fake)


@pytest.mark.parametrize("sent", [*C1_SPELLINGS.values(), "a\u0085b.wav"], ids=[*C1_SPELLINGS, "text with U+0085"])
def test_install_refuses_a_c1_control_in_x_filename(fake: FakeV3, sent: str | bytes) -> None:
    with install(base_url=fake.base_url, store=":memory:", max_retries=0):
        refused_before_upstream(upload(LEGACY, created(LEGACY), sent), fake)


@pytest.mark.parametrize("name", ["a\u0085b.wav", "\u0080.wav", "x\u009f"])
def test_legacy_client_refuses_a_c1_control_in_the_filename(fake: FakeV3, name: str) -> None:
    with LegacyClient(api_key=TOKEN, base_url=fake.base_url, store=":memory:") as client:
        session_id = client.create_session("en")["result"]["session_id"]
        with pytest.raises(ScriptixError) as caught:
            client.upload(session_id, io.BytesIO(b"RIFF...."), filename=name, content_type="audio/wav")
    assert (caught.value.status_code, caught.value.body) == REFUSED
    assert fake.count("POST", "tus-create") == 0


@pytest.mark.parametrize("name", ["a\u00a0b.wav", "\u00ffé.wav", "a\u007eb.wav"])
def test_the_characters_around_the_c1_range_are_still_accepted(fake: FakeV3, gateway: GatewayServer, name: str) -> None:
    assert_named(upload(gateway.url, created(gateway.url), name.encode()), fake, name)
