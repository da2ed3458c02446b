"""Issue 10, item 1: a nested JSON body answered 500.

A create body nested 1,000 deep (``[[[…]]]``) got a 500 and a traceback from the gateway, and a bare
``RecursionError`` through ``install()`` (the staging code parsed the body before the translator and
caught only ``ValueError``). Every place that parses a caller's JSON (gateway, ``install()``,
emulator) now answers a V1 4xx, and each create body is parsed once.
"""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from fake_v3 import FakeV3
from pytest_httpserver import HTTPServer

from compat import install
from compat.emulator import Emulator
from compat.gateway import GatewayServer
from compat.safejson import MAX_DEPTH

TOKEN = "item-01-token"
LEGACY = "https://api.scriptix.io"  # intercepted by install(); never reached
SESSIONS = "/api/v3/speech-to-text/session"
JSON = {"x-zoom-s2t-key": TOKEN, "Content-Type": "application/json"}


def nested(depth: int, core: str = "1") -> str:
    """A JSON value ``depth`` levels deep, arrays and objects taking turns."""
    openers = ["[" if level % 2 == 0 else '{"k":' for level in range(depth)]
    closers = ["]" if level % 2 == 0 else "}" for level in reversed(range(depth))]
    return "".join(openers) + core + "".join(closers)


DEEP_BODIES = {
    "1000 arrays": "[" * 1000 + "]" * 1000,
    "1000 objects": '{"a":' * 1000 + "1" + "}" * 1000,
    "a V1 body with a deep field": '{"language": "en", "meta": ' + nested(1000) + "}",
    "400000 arrays (under the size cap)": "[" * 400_000 + "]" * 400_000,
    "unclosed": "[" * 5000,
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
    """The gateway on waitress, as deployed (its threads call the app from a deeper stack than a test)."""
    with GatewayServer(fake.base_url, store=":memory:", backoff_base=0.001) as server:
        yield server


def assert_v1_422(answer: requests.Response) -> None:
    assert answer.status_code == 422, answer.text[:300]
    assert answer.headers["Content-Type"] == "application/json"
    error = answer.json()["error"]
    assert error.startswith("Body Invalid: ") and "Traceback" not in error


@pytest.mark.parametrize("body", list(DEEP_BODIES.values()), ids=list(DEEP_BODIES))
def test_the_gateway_answers_a_deep_create_body_with_a_v1_422(fake: FakeV3, gateway: GatewayServer, body: str) -> None:
    answer = requests.post(gateway.url + SESSIONS, data=body.encode(), headers=JSON, timeout=30)
    assert_v1_422(answer)
    assert fake.requests == []


@pytest.mark.parametrize("body", list(DEEP_BODIES.values()), ids=list(DEEP_BODIES))
def test_install_answers_a_deep_create_body_with_a_v1_422(fake: FakeV3, body: str) -> None:
    with install(base_url=fake.base_url, store=":memory:", max_retries=0):
        answer = requests.post(LEGACY + SESSIONS, data=body.encode(), headers=JSON, timeout=30)
    assert_v1_422(answer)
    assert fake.requests == []


def test_a_body_as_deep_as_allowed_is_translated_and_one_level_more_is_refused(
    fake: FakeV3, gateway: GatewayServer
) -> None:
    # The object itself is one level: its field takes the other MAX_DEPTH - 1.
    allowed = '{"language": "en", "extra": ' + nested(MAX_DEPTH - 1) + "}"
    too_deep = '{"language": "en", "extra": ' + nested(MAX_DEPTH) + "}"
    created = requests.post(gateway.url + SESSIONS, data=allowed.encode(), headers=JSON, timeout=30)
    assert created.status_code == 200, created.text
    assert fake.sessions[created.json()["result"]["session_id"]].fields["extra"] == json.loads(allowed)["extra"]
    refused = requests.post(gateway.url + SESSIONS, data=too_deep.encode(), headers=JSON, timeout=30)
    assert_v1_422(refused)
    assert f"nested more than {MAX_DEPTH} levels" in refused.json()["error"]
    assert fake.count("POST", "session-create") == 1


def test_a_token_is_still_checked_before_a_deep_body(fake: FakeV3, gateway: GatewayServer) -> None:
    answer = requests.post(
        gateway.url + SESSIONS, data=DEEP_BODIES["1000 arrays"].encode(), headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 401 and fake.requests == []


@pytest.mark.parametrize("v1", [False, True], ids=["V3 emulator", "V1 emulator"])
def test_the_emulator_answers_a_deep_create_body_with_a_4xx(v1: bool) -> None:
    with Emulator(v1=v1, tokens=[TOKEN]) as emulator:  # V1 mode accepts only its listed tokens
        for body in DEEP_BODIES.values():
            answer = requests.post(emulator.url + SESSIONS, data=body.encode(), headers=JSON, timeout=30)
            assert answer.status_code == 422, answer.text[:300]
            assert answer.json()["error"].startswith("Body Invalid: ")


def test_the_emulator_answers_a_deep_tus_document_and_faults_body_with_a_400() -> None:
    document = base64.b64encode(DEEP_BODIES["1000 objects"].encode()).decode()
    metadata = ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}"
        for key, value in {"language": "en", "document_type": "caption", "filename": "a.wav"}.items()
    )
    with Emulator() as emulator:
        created = requests.post(
            emulator.url + "/api/v3/files/",
            headers={
                "x-zoom-s2t-key": TOKEN,
                "Tus-Resumable": "1.0.0",
                "Upload-Length": "4",
                "Upload-Metadata": f"{metadata},document {document}",
            },
            timeout=30,
        )
        assert created.status_code == 400, created.text[:300]
        assert "document" in created.json()["error"]
        faults = requests.post(emulator.url + "/_emulator/faults", data=DEEP_BODIES["1000 arrays"], timeout=30)
        assert faults.status_code == 400, faults.text[:300]


# Parse each body once ------------------------------------------------------------------------------

# Spaced as no encoder writes it, so the upstream's own parse of the forwarded body never matches.
ODD_BODY = '{ "language" :  "en" ,  "media_source" : null }'


@pytest.fixture
def parses_of_the_body(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every ``json.loads`` of ODD_BODY in this process (the gateway's threads included)."""
    seen: list[str] = []
    real: Callable[..., Any] = json.loads

    def counting(document: Any, *args: Any, **kwargs: Any) -> Any:
        text = document.decode("utf-8", "replace") if isinstance(document, bytes | bytearray) else str(document)
        if text == ODD_BODY:
            seen.append(text)
        return real(document, *args, **kwargs)

    monkeypatch.setattr(json, "loads", counting)
    return seen


def test_the_gateway_parses_a_create_body_once(
    fake: FakeV3, gateway: GatewayServer, parses_of_the_body: list[str]
) -> None:
    answer = requests.post(gateway.url + SESSIONS, data=ODD_BODY.encode(), headers=JSON, timeout=30)
    assert answer.status_code == 200, answer.text
    assert len(parses_of_the_body) == 1


def test_install_parses_a_create_body_once(fake: FakeV3, parses_of_the_body: list[str]) -> None:
    with install(base_url=fake.base_url, store=":memory:", max_retries=0):
        answer = requests.post(LEGACY + SESSIONS, data=ODD_BODY.encode(), headers=JSON, timeout=30)
    assert answer.status_code == 200, answer.text
    assert len(parses_of_the_body) == 1
