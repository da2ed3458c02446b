"""The caller's token (and a credential in its webhook headers) never shows, across whole V1 flows.

Each flow is a V1 job through one way in (``LegacyClient``, the gateway, ``compat.install()``) with
upstream failures on the way: a 429, 5xx answers, a connection cut mid-PATCH, an upstream error body
that echoes the token, a refused ``media_source``, a second delete. Every log record of every logger
at DEBUG, every error (its text, repr, body and formatted traceback with its causes), every repr, the
gateway's answers and access log, the store's files (database, ``-wal`` and ``-shm``), and the
usage report (``SCRIPTIX_COMPAT_REPORT``) are searched for the secrets.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from fake_v3 import FakeV3
from sec_helpers import LEGACY, SESSIONS
from werkzeug import Request, Response
from werkzeug.test import Client

import compat
from compat import LegacyClient, ScriptixError
from compat.gateway import GatewayServer, make_app
from compat.staging import usage

HOOK = "https://hooks.example.com/done"


@pytest.fixture
def token() -> str:
    return f"sec-token-{secrets.token_hex(12)}"


@pytest.fixture
def hook_secret() -> str:
    return f"hook-secret-{secrets.token_hex(12)}"


@pytest.fixture
def fake_for(httpserver: Any) -> Callable[[str], FakeV3]:
    def build(token: str) -> FakeV3:
        return FakeV3(httpserver, token=token)

    return build


@pytest.fixture
def media(tmp_path: Path) -> Path:
    path = tmp_path / "media" / "talk.wav"
    path.parent.mkdir()
    path.write_bytes(b"RIFF" + os.urandom(200 * 1024))
    return path


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)  # every logger: ours, urllib3, werkzeug, waitress
    yield caplog


def log_text(caplog: pytest.LogCaptureFixture, *, shim_only: bool = False) -> str:
    """Every record, formatted with its arguments and traceback.

    With ``shim_only`` the records of the test's own thread and of the fake upstream's server
    (``werkzeug``) are left out: there the test plays the legacy caller, whose own ``requests`` logs
    the URLs it was asked to send (a token in a query string included), as it would without the shim,
    and the fake plays Scriptix, whose logs are Scriptix's.
    """
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(threadName)s %(name)s %(levelname)s %(message)s"))
    main = threading.main_thread().ident
    return "\n".join(
        handler.format(record)
        for record in caplog.records
        if not shim_only or (record.thread != main and record.name != "werkzeug")
    )


def error_texts(error: BaseException) -> list[str]:
    texts = [str(error), repr(error), "".join(traceback.format_exception(error))]
    if isinstance(error, ScriptixError):
        texts.append(repr(error.body))
    return texts


def echo_token_once(fake: FakeV3) -> None:
    """The next result poll answers 400 with the caller's token in the error body (as some APIs do)."""
    original = fake._result
    done: list[bool] = []

    def echoing(request: Request, ident: str | None) -> Response:
        if done:
            return original(request, ident)
        done.append(True)
        token = request.headers.get("x-zoom-s2t-key", "")
        body = f'{{"error": "token {token} may not read {ident}", "token": "{token}"}}'
        return Response(body, status=400, content_type="application/json")

    fake._result = echoing  # type: ignore[method-assign]


def inject_failures(fake: FakeV3) -> None:
    fake.fail("POST", "session-create", (429, {"Retry-After": "0"}))
    fake.fail("POST", "tus-create", 503)
    fake.fail("PATCH", "tus-upload", "pass", "drop", 500)
    fake.fail("HEAD", "tus-head", 503)
    fake.fail("GET", "result", 502)
    echo_token_once(fake)


def store_files(store: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in store.parent.iterdir() if p.name.startswith(store.name)}


def assert_secrets_absent(secret_values: list[str], texts: list[str], files: dict[str, bytes]) -> None:
    for secret in secret_values:
        for text in texts:
            assert secret not in text, f"a secret shows in: {text[:300]!r}"
        for name, data in files.items():
            assert secret.encode() not in data, f"a secret is in {name}"


def test_legacy_client_flow_with_failures_leaks_no_secret(
    fake_for: Callable[[str], FakeV3], token: str, hook_secret: str, media: Path, tmp_path: Path, logs: Any
) -> None:
    fake = fake_for(token)
    inject_failures(fake)
    store = tmp_path / "state.sqlite3"
    client = LegacyClient(api_key=token, base_url=fake.base_url, store=str(store), chunk_size=64 * 1024)
    client.v3.transport._sleep = lambda seconds: None
    errors: list[BaseException] = []

    def expect_error(call: Callable[[], Any]) -> None:
        with pytest.raises(ScriptixError) as caught:
            call()
        errors.append(caught.value)

    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        created = client.create_session(
            "en", webhook_url=HOOK, webhook_headers=[f"Authorization: Bearer {hook_secret}"], meta_data={"k": "v"}
        )
        session_id = created["result"]["session_id"]
        client.upload(session_id, media)
        expect_error(lambda: client.get_result(session_id))  # 502 (retried), then the echo
        client.get_result(session_id)
        expect_error(lambda: client.create_session("en", media_source=f"http://127.0.0.1/x.mp3?key={token}"))
        expect_error(lambda: client.get_result("ffffffffffffffffffffffffff"))
        client.delete(session_id)
        expect_error(lambda: client.delete(session_id))
        # the store holds the record while the shim is open: the WAL is there and has content
        files = store_files(store)
    assert files.get("state.sqlite3-wal") and files.get("state.sqlite3-shm")
    texts = [log_text(logs), *(str(w.message) for w in warned)]
    texts += [repr(client), repr(client.v3), repr(client.v3.transport), repr(client.v3.settings), repr(client.v3.store)]
    for error in errors:
        texts += error_texts(error)
    assert "tus" in texts[0] and "PATCH" in texts[0], "the flow should have been logged"
    assert any("may not read" in t for t in texts), "the echoing error should be among them"
    assert_secrets_absent([token, hook_secret], texts, files)


def test_gateway_flow_with_failures_leaks_no_secret(
    fake_for: Callable[[str], FakeV3], token: str, hook_secret: str, media: Path, tmp_path: Path, logs: Any
) -> None:
    fake = fake_for(token)
    inject_failures(fake)
    store = tmp_path / "gateway.sqlite3"
    auth = {"x-zoom-s2t-key": token}
    answers: list[requests.Response] = []
    options: dict[str, Any] = {"chunk_size": 64 * 1024, "backoff_base": 0.001, "timeout": 0.3, "max_retries": 3}
    with GatewayServer(fake.base_url, store=store, **options) as gateway:
        sessions = gateway.url + SESSIONS
        body = {"language": "en", "webhook_url": HOOK, "webhook_headers": [f"X-Hook-Key: {hook_secret}"]}
        answers.append(requests.post(f"{sessions}?api_key={token}", json=body, headers=auth, timeout=30))
        session_id = answers[-1].json()["result"]["session_id"]
        with open(media, "rb") as data:
            answers.append(
                requests.put(
                    f"{sessions}/{session_id}",
                    data=data,
                    headers={**auth, "Content-Type": "audio/wav", "x-filename": "talk.wav"},
                    timeout=30,
                )
            )
        answers.append(requests.get(f"{sessions}/{session_id}/result", headers=auth, timeout=30))  # the echo
        # proxied: its answer is the upstream's (the session as the caller created it), not checked here
        proxied = requests.get(f"{sessions}/{session_id}", headers=auth, timeout=30)
        bearer = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        answers.append(requests.post(sessions, data=b'{"language": ', headers=bearer, timeout=30))  # 415
        polls = fake.count("GET", "result")
        fake.fail("GET", "result", *[("stall", 0.6)] * 4)  # every attempt: the gateway gives up
        answers.append(requests.get(f"{sessions}/{session_id}/result", headers=auth, timeout=30))  # 504
        deadline = time.monotonic() + 10
        while fake.count("GET", "result") < polls + 4 and time.monotonic() < deadline:
            time.sleep(0.05)  # the fake serves one request at a time: let it finish the stalled ones
        answers.append(requests.delete(f"{sessions}/{session_id}", headers=auth, timeout=30))
        files = store_files(store)
    statuses = [a.status_code for a in answers]
    assert statuses == [200, 200, 400, 415, 504, 200] and proxied.status_code == 200, statuses
    texts = [log_text(logs, shim_only=True), *(a.text for a in answers), *(str(dict(a.headers)) for a in answers)]
    assert "compat.gateway.access" in texts[0], "the access log should have been captured"
    assert_secrets_absent([token, hook_secret], texts, files)


def test_install_flow_with_failures_leaks_no_secret(
    fake_for: Callable[[str], FakeV3], token: str, hook_secret: str, media: Path, logs: Any
) -> None:
    fake = fake_for(token)
    inject_failures(fake)
    auth = {"x-zoom-s2t-key": token}
    raised: list[BaseException] = []
    with compat.install(
        base_url=fake.base_url, legacy_base_url=LEGACY, store=":memory:", chunk_size=64 * 1024, backoff_base=0.001
    ) as handle:
        sessions = LEGACY + SESSIONS
        body = {"language": "en", "webhook_url": HOOK, "webhook_headers": [f"X-Hook-Key: {hook_secret}"]}
        session_id = requests.post(sessions, json=body, headers=auth, timeout=30).json()["result"]["session_id"]
        with open(media, "rb") as data:
            headers = {**auth, "Content-Type": "audio/wav", "x-filename": "talk.wav"}
            uploaded = requests.put(f"{sessions}/{session_id}", data=data, headers=headers, timeout=30)
        echoed = requests.get(f"{sessions}/{session_id}/result", headers=auth, timeout=30)
        fake.fail("GET", "result", ("stall", 2.0))
        handle_repr = repr(handle)
    with compat.install(base_url=fake.base_url, legacy_base_url=LEGACY, store=":memory:", timeout=0.3, max_retries=0):
        fake.fail("GET", "result", ("stall", 2.0))
        try:
            requests.get(f"{sessions}/{session_id}/result", headers=auth, timeout=30)
        except requests.RequestException as exc:
            raised.append(exc)
    assert uploaded.status_code == 200 and echoed.status_code == 400 and raised
    texts = [log_text(logs), echoed.text, handle_repr]
    for error in raised:
        texts += [str(error), "".join(traceback.format_exception(error.__cause__ or error))]
    assert_secrets_absent([token, hook_secret], texts, {})


def test_the_usage_report_holds_no_secret(
    fake_for: Callable[[str], FakeV3],
    token: str,
    hook_secret: str,
    media: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = fake_for(token)
    report = tmp_path / "usage.json"
    monkeypatch.setenv("SCRIPTIX_COMPAT_REPORT", str(report))
    client = LegacyClient(api_key=token, base_url=fake.base_url, store=":memory:")
    session_id = client.create_session("en", webhook_url=HOOK, webhook_headers=[f"X-Key: {hook_secret}"])["result"][
        "session_id"
    ]
    client.upload(session_id, media)
    app = make_app(fake.base_url, store=":memory:")
    try:
        Client(app).post(SESSIONS, json={"language": "en"}, headers={"x-zoom-s2t-key": token})
    finally:
        app.close()
    written = usage.report(report)
    assert {call["operation"] for call in written["calls"]} >= {"create_session", "upload"}
    assert_secrets_absent([token, hook_secret], [], {report.name: report.read_bytes()})


def test_a_token_in_the_query_of_a_proxied_call_stays_out_of_the_gateways_debug_log(
    fake_for: Callable[[str], FakeV3], token: str, logs: Any
) -> None:
    """The access log leaves query strings out; the gateway's own upstream requests must not put the
    caller's token (sent in a query, as some legacy code does, besides its header) back in the log."""
    fake = fake_for(token)
    session_id = FakeV3.__name__  # any path: the call is proxied, the upstream's answer does not matter
    with GatewayServer(fake.base_url, store=":memory:") as gateway:
        proxied = requests.get(
            f"{gateway.url}{SESSIONS}/{session_id}?api_key={token}", headers={"x-zoom-s2t-key": token}, timeout=30
        )
    assert proxied.status_code == 404
    text = log_text(logs, shim_only=True)
    assert "compat.gateway.access" in text
    assert_secrets_absent([token], [text], {})
