"""Issue 10, item 7: ``install()`` could send a test's calls to production.

With ``base_url`` pointing at an emulator, calls to the legacy host that are not V1 operations (e.g.
``GET …/session/{id}``) still went to ``https://api.scriptix.io`` with the caller's token. When
``base_url`` differs from the legacy URL they now go to ``base_url``, as the gateway proxies to its
upstream: same method, headers and body, the path below the legacy prefix and the query kept.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from pytest_httpserver import HTTPServer

from compat import install, mount
from compat.emulator import Emulator

TOKEN = "item-07-token"
LEGACY = "https://api.scriptix.io"  # never reached: a resolution of its name fails the test
SESSIONS = "/api/v3/speech-to-text/session"
AUTH = {"x-zoom-s2t-key": TOKEN}


@pytest.fixture(autouse=True)
def no_production(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every name looked up other than loopback; such a lookup also fails, so nothing leaves the host."""
    looked_up: list[str] = []
    real = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in ("localhost", "::1") and not name.startswith("127."):
            looked_up.append(name)
            raise socket.gaierror(socket.EAI_NONAME, f"tests resolve no name but loopback ({name})")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    return looked_up


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


def test_a_session_status_call_goes_to_the_emulator_not_to_production(
    emulator: Emulator, no_production: list[str]
) -> None:
    with install(base_url=emulator.url, store=":memory:", max_retries=0):
        created = requests.post(LEGACY + SESSIONS, json={"language": "en"}, headers=AUTH, timeout=30)  # V1: served
        session_id = created.json()["result"]["session_id"]
        status = requests.get(f"{LEGACY}{SESSIONS}/{session_id}", headers=AUTH, timeout=30)  # V3: not a V1 call
        listing = requests.get(f"{LEGACY}{SESSIONS}?limit=5", headers=AUTH, timeout=30)
    assert status.status_code == 200, status.text
    assert status.json()["session_id"] == session_id  # the emulator knows the session
    assert status.url == f"{emulator.url}{SESSIONS}/{session_id}"
    assert listing.status_code == 200, listing.text
    assert [s["session_id"] for s in listing.json()["result"]] == [session_id]
    assert no_production == []


@pytest.fixture
def upstream() -> Iterator[HTTPServer]:
    """A recording stand-in for the shim's upstream."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.expect_request(re.compile(r".*")).respond_with_data("from the upstream")
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.mark.parametrize("via", ["install", "mount"])
def test_method_path_query_headers_and_body_are_kept(upstream: HTTPServer, no_production: list[str], via: str) -> None:
    base_url = upstream.url_for("/v3root").rstrip("/")  # an upstream with a path prefix of its own
    legacy = LEGACY + "/scriptix"  # a legacy URL with a path prefix
    session = requests.Session()
    options: dict[str, Any] = {"base_url": base_url, "legacy_base_url": legacy, "store": ":memory:"}
    with install(**options) if via == "install" else mount(session, **options):
        answer = session.request(
            "PATCH",
            f"{legacy}/api/v3/files/abc%2Fdef?x=1&y=%20",
            data=b"payload",
            headers={**AUTH, "X-Custom": "kept"},
            timeout=30,
        )
    assert (answer.status_code, answer.text) == (200, "from the upstream")
    [(arrived, _)] = upstream.log
    assert arrived.method == "PATCH"
    assert arrived.environ["RAW_URI"] == "/v3root/api/v3/files/abc%2Fdef?x=1&y=%20"
    assert arrived.get_data() == b"payload"
    assert arrived.headers["X-Custom"] == "kept" and arrived.headers["x-zoom-s2t-key"] == TOKEN
    assert no_production == []


def test_calls_to_other_hosts_are_left_alone(upstream: HTTPServer) -> None:
    other = HTTPServer(host="127.0.0.1", port=0)
    other.expect_request("/anything").respond_with_data("other host")
    other.start()
    try:
        with install(base_url=upstream.url_for("/").rstrip("/"), store=":memory:"):
            assert requests.get(other.url_for("/anything"), timeout=30).text == "other host"
    finally:
        other.clear()
        other.stop()
    assert upstream.log == []
