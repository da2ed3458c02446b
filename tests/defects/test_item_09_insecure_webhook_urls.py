"""Issue 10, item 9: webhook URLs the V1 docs forbid were accepted.

V1 "Required HTTPS (no localhost/IPs)" for callbacks; the shim forwarded ``http://…`` and
``https://localhost``. Such a ``webhook_url`` (top level, ``callback_url``, or ``document.webhook_url``)
is now a V1 422 before anything goes upstream, on every surface: ``LegacyClient``, ``install()``,
``mount()``, the gateway. ``allow_insecure_webhooks=True`` (CLI ``--allow-insecure-webhooks``)
lets them through, for local tests against a receiver on this machine.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from fake_v3 import FakeV3
from pytest_httpserver import HTTPServer
from werkzeug.test import Client

import compat
from compat import LegacyClient, ScriptixError
from compat.cli import main
from compat.gateway import make_app

TOKEN = "item-09-token"
LEGACY = "https://api.scriptix.io"  # intercepted; never reached
SESSIONS = "/api/v3/speech-to-text/session"

REFUSED = [
    "http://hooks.example.com/done",  # not HTTPS
    "HTTP://hooks.example.com/done",
    "https://localhost/done",
    "https://LOCALHOST./done",
    "https://api.localhost/done",
    "https://box.localdomain/done",
    "https://localhost.localdomain/done",
    "https://\u24db\u24de\u24d2\u24d0\u24db\u24d7\u24de\u24e2\u24e3/done",  # IDNA look-alike of localhost
    "https://93.184.216.34/done",  # an IP address, public or not
    "https://127.0.0.1:8443/done",
    "https://127.1/done",
    "https://2130706433/done",
    "https://0x7f.1/done",
    "https://\uff11\uff12\uff17\u3002\uff10\u3002\uff10\u3002\uff11/done",  # full-width digits, ideographic dots
    "https://[::1]/done",
    "https://[2001:db8::1]/done",
]
ACCEPTED = [
    "https://hooks.example.com/done",
    "https://hooks.example.com:8443/a/b?c=d",
    "https://localhost-monitor.example.com/done",  # "localhost" only as part of a longer label
    "https://b\u00fccher.example/done",
]


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeV3:
    return FakeV3(httpserver, token=TOKEN)


def _bodies(url: str) -> dict[str, dict[str, Any]]:
    return {
        "webhook_url": {"language": "en", "webhook_url": url, "webhook_method": "POST"},
        "callback_url": {"language": "en", "callback_url": url},
        "document.webhook_url": {"language": "en", "document": {"webhook_url": url}},
    }


def _create(client: LegacyClient, body: dict[str, Any]) -> dict[str, Any]:
    fields = dict(body)
    return client.create_session(fields.pop("language"), **fields)


@pytest.mark.parametrize("url", REFUSED)
@pytest.mark.parametrize("where", ["webhook_url", "callback_url", "document.webhook_url"])
def test_legacy_client_refuses_a_webhook_v1_refused(fake: FakeV3, url: str, where: str) -> None:
    with (
        LegacyClient(api_key=TOKEN, base_url=fake.base_url, store=":memory:") as client,
        pytest.raises(ScriptixError) as caught,
    ):
        _create(client, _bodies(url)[where])
    assert caught.value.status_code == 422
    message = caught.value.body["error"]
    assert message.startswith("Body Invalid:") and "allow_insecure_webhooks" in message
    assert fake.requests == []


@pytest.mark.parametrize("url", ACCEPTED)
def test_a_public_https_webhook_is_forwarded(fake: FakeV3, url: str) -> None:
    with LegacyClient(api_key=TOKEN, base_url=fake.base_url, store=":memory:") as client:
        session_id = client.create_session("en", webhook_url=url)["result"]["session_id"]
    assert fake.sessions[session_id].fields["webhook_url"] == url


@pytest.mark.parametrize("url", ["http://localhost:8080/hook", "https://127.0.0.1/hook", "http://[::1]:9/hook"])
def test_allow_insecure_webhooks_lets_a_local_receiver_through(fake: FakeV3, url: str) -> None:
    with LegacyClient(api_key=TOKEN, base_url=fake.base_url, store=":memory:", allow_insecure_webhooks=True) as client:
        session_id = client.create_session("en", webhook_url=url, document={"webhook_url": url})["result"]["session_id"]
    assert fake.sessions[session_id].fields["webhook_url"] == url


def test_allow_insecure_webhooks_still_wants_an_http_url(fake: FakeV3) -> None:
    with (
        LegacyClient(api_key=TOKEN, base_url=fake.base_url, store=":memory:", allow_insecure_webhooks=True) as client,
        pytest.raises(ScriptixError) as caught,
    ):
        client.create_session("en", webhook_url="ftp://localhost/hook")
    assert caught.value.status_code == 422 and fake.requests == []


# Every surface that takes translator options ------------------------------------------------------

Surface = Callable[[FakeV3, bool, dict[str, Any]], tuple[int, dict[str, Any]]]


def _via_install(fake: FakeV3, insecure: bool, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    with compat.install(
        base_url=fake.base_url, legacy_base_url=LEGACY, store=":memory:", allow_insecure_webhooks=insecure
    ):
        answer = requests.post(LEGACY + SESSIONS, json=body, headers={"x-zoom-s2t-key": TOKEN}, timeout=10)
    return answer.status_code, answer.json()


def _via_mount(fake: FakeV3, insecure: bool, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    with (
        requests.Session() as session,
        compat.mount(
            session, base_url=fake.base_url, legacy_base_url=LEGACY, store=":memory:", allow_insecure_webhooks=insecure
        ),
    ):
        answer = session.post(LEGACY + SESSIONS, json=body, headers={"x-zoom-s2t-key": TOKEN}, timeout=10)
    return answer.status_code, answer.json()


def _via_gateway(fake: FakeV3, insecure: bool, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    app = make_app(fake.base_url, store=":memory:", allow_insecure_webhooks=insecure)
    try:
        answer = Client(app).post(SESSIONS, json=body, headers={"x-zoom-s2t-key": TOKEN})
    finally:
        app.close()
    return answer.status_code, answer.json


SURFACES: dict[str, Surface] = {"install": _via_install, "mount": _via_mount, "gateway": _via_gateway}


@pytest.mark.parametrize("surface", list(SURFACES))
def test_every_surface_refuses_by_default_and_accepts_with_the_option(fake: FakeV3, surface: str) -> None:
    body = {"language": "en", "webhook_url": "http://localhost:8080/hook"}
    status, answer = SURFACES[surface](fake, False, body)
    assert status == 422 and "webhook_url" in answer["error"]
    assert fake.requests == []
    status, answer = SURFACES[surface](fake, True, body)
    assert status == 200, answer
    assert fake.sessions[answer["result"]["session_id"]].fields["webhook_url"] == "http://localhost:8080/hook"


@pytest.mark.parametrize("flag", [True, False])
def test_the_gateway_command_passes_allow_insecure_webhooks_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flag: bool
) -> None:
    seen: dict[str, Any] = {}

    def serve(upstream: str, **options: Any) -> bool:
        seen.update(options)
        return True

    monkeypatch.setattr(compat.gateway, "serve", serve)
    args = ["gateway", "--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:9", "--store", str(tmp_path / "s")]
    assert main([*args, "--allow-insecure-webhooks"] if flag else args) == 0
    assert seen["options"].allow_insecure_webhooks is flag
    # ...and what it passes is a gateway option (serve hands it to make_app, as every other one).
    make_app("http://127.0.0.1:9", store=":memory:", allow_insecure_webhooks=flag).close()
