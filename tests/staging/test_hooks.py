"""The one hook between the shim and the staging toolkit (issue 11, item 3): ``compat.hooks``.

Every surface reports each V1 call it serves as ``on_legacy_call(operation, site, via)`` before
anything goes upstream: ``LegacyClient`` and ``compat.install()`` with the caller's line, the
gateway with the client's address. Observers see the calls in order; one that raises stops the
call before it is sent. The staging toolkit is such an observer (``import compat`` registers it);
the rest of this folder checks what it does with each call.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from fake_v3 import FakeV3
from pytest_httpserver import HTTPServer
from werkzeug.test import Client

from compat import LegacyClient, install
from compat.gateway import make_app
from compat.hooks import (
    CallSite,
    add_observer,
    caller_site,
    observers,
    on_legacy_call,
    remote_site,
    remove_observer,
)
from compat.staging.notice import observe

TOKEN = "hooks-token"
SESSIONS = "/api/v3/speech-to-text/session"
Seen = list[tuple[str, CallSite, str]]


class Refused(Exception):
    """An observer's refusal."""


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeV3:
    return FakeV3(httpserver, token=TOKEN)


@pytest.fixture
def seen() -> Iterator[Seen]:
    calls: Seen = []

    def record(operation: str, site: CallSite, via: str) -> None:
        calls.append((operation, site, via))

    add_observer(record)
    yield calls
    remove_observer(record)


def _line_of(marker: str) -> int:
    for number, line in enumerate(Path(__file__).read_text().splitlines(), start=1):
        if line.rstrip().endswith(f"# {marker}"):
            return number
    raise AssertionError(marker)


def test_the_staging_toolkit_is_the_observer_import_compat_registers() -> None:
    assert observe in observers()


def test_legacy_client_reports_each_call_with_the_callers_line(fake: FakeV3, seen: Seen, tmp_path: Path) -> None:
    media = tmp_path / "talk.wav"
    media.write_bytes(b"RIFF" + bytes(2000))
    with LegacyClient(api_key=TOKEN, base_url=fake.base_url, store=":memory:") as client:
        session_id = client.create_session("en")["result"]["session_id"]  # hooked-create
        client.upload(session_id, media)
        client.get_result(session_id)
        client.delete(session_id)
    assert [(operation, via) for operation, _, via in seen] == [
        ("create_session", "LegacyClient"),
        ("upload", "LegacyClient"),
        ("get_result", "LegacyClient"),
        ("delete", "LegacyClient"),
    ]
    site = seen[0][1]
    assert Path(site.file).resolve() == Path(__file__).resolve()
    assert (site.line, site.function) == (
        _line_of("hooked-create"),
        "test_legacy_client_reports_each_call_with_the_callers_line",
    )
    assert site.client == "" and site.frame is not None


def test_install_reports_each_v1_call_and_the_create_by_its_staging_name(fake: FakeV3, seen: Seen) -> None:
    legacy = "http://legacy.invalid"
    with install(base_url=fake.base_url, legacy_base_url=legacy, store=":memory:"):
        requests.post(  # hooked-install
            f"{legacy}{SESSIONS}",
            json={"language": "en", "media_source": "ftp://not-fetched"},
            headers={"x-zoom-s2t-key": TOKEN},
            timeout=10,
        )
    assert [(operation, via) for operation, _, via in seen] == [("media_source", "compat.install()")]
    assert seen[0][1].line == _line_of("hooked-install")
    assert seen[0][1].function == "test_install_reports_each_v1_call_and_the_create_by_its_staging_name"


def test_the_gateway_reports_each_v1_call_with_the_client_address(fake: FakeV3, seen: Seen) -> None:
    client = Client(make_app(fake.base_url, store=":memory:"))
    caller = {"REMOTE_ADDR": "192.0.2.7"}
    answer = client.post(SESSIONS, json={"language": "en"}, headers={"x-zoom-s2t-key": TOKEN}, environ_base=caller)
    assert answer.status_code == 200
    client.get(f"{SESSIONS}/abc", headers={"x-zoom-s2t-key": TOKEN}, environ_base=caller)  # proxied: not V1
    assert [(operation, via) for operation, _, via in seen] == [("create_session", "gateway")]
    assert seen[0][1] == remote_site("192.0.2.7")
    assert (seen[0][1].file, seen[0][1].line, seen[0][1].client) == ("gateway:192.0.2.7", 0, "192.0.2.7")


def test_an_observer_that_raises_stops_the_call_before_anything_is_sent(fake: FakeV3) -> None:
    def refuse(operation: str, site: CallSite, via: str) -> None:
        raise Refused(operation)

    add_observer(refuse)
    try:
        with (
            LegacyClient(api_key=TOKEN, base_url=fake.base_url, store=":memory:") as client,
            pytest.raises(Refused, match="create_session"),
        ):
            client.create_session("en")
        with (
            install(base_url=fake.base_url, legacy_base_url="http://legacy.invalid", store=":memory:"),
            pytest.raises(Refused, match="create_session"),
        ):
            requests.post(
                f"http://legacy.invalid{SESSIONS}", json={"language": "en"}, headers={"x-zoom-s2t-key": TOKEN}
            )
    finally:
        remove_observer(refuse)
    assert fake.requests == []


def test_observers_are_called_in_order_once_each_and_can_be_removed() -> None:
    calls: list[str] = []

    def first(operation: str, site: CallSite, via: str) -> None:
        calls.append(f"first {operation} {via}")

    def second(operation: str, site: CallSite, via: str) -> None:
        calls.append(f"second {operation} {via}")

    add_observer(first)
    add_observer(second)
    add_observer(first)  # once, however often it is added
    try:
        on_legacy_call("delete", remote_site("10.0.0.1"), "test")
        remove_observer(first)
        on_legacy_call("upload", remote_site("10.0.0.1"), "test")
    finally:
        remove_observer(first)
        remove_observer(second)
    assert calls == ["first delete test", "second delete test", "second upload test"]


def test_caller_site_skips_the_shim_and_http_libraries() -> None:
    site = caller_site()  # this-line
    assert site.line == _line_of("this-line")
    assert site.module == __name__
    assert site.function == "test_caller_site_skips_the_shim_and_http_libraries"
