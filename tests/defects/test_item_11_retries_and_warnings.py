"""Item 11 (part): a refused connection speaks at once and ends with a useful error; a warnings
filter set before ``import compat`` wins over the shim's own "show LegacyV1Warning" default.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from compat import APIConnectionError, Settings
from compat.v3.transport import Transport

TOKEN = "item11-secret-token-5d1f"
REPO = Path(__file__).resolve().parents[2]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def transport(base_url: str, *, max_retries: int = 3) -> Transport:
    settings = Settings.resolve(
        environ={},
        store=":memory:",
        api_key=TOKEN,
        base_url=base_url,
        max_retries=max_retries,
        backoff_base=0.001,
        backoff_max=0.002,
    )
    return Transport(settings, sleep=lambda _seconds: None)


@pytest.fixture
def made() -> Iterator[list[Transport]]:
    transports: list[Transport] = []
    yield transports
    for each in transports:
        each.close()


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "compat.http" and r.levelno == logging.WARNING]


# a refused connection -----------------------------------------------------------------------------


def test_a_refused_connection_warns_once_and_the_error_names_the_host_and_the_setting(
    caplog: pytest.LogCaptureFixture, made: list[Transport]
) -> None:
    port = closed_port()
    origin = f"http://127.0.0.1:{port}"
    made.append(client := transport(origin, max_retries=3))
    caplog.set_level(logging.WARNING, logger="compat.http")
    with pytest.raises(APIConnectionError) as caught:
        client.request("POST", f"{origin}/api/v3/speech-to-text/session", json={"language": "en"})
    message = str(caught.value)
    assert caught.value.status_code is None and isinstance(caught.value, requests.ConnectionError)
    assert "Connection refused" in message
    assert "4 attempts" in message and f"no connection to {origin}" in message
    assert "SCRIPTIX_BASE_URL" in message and "base_url" in message
    assert isinstance(caught.value.__cause__, requests.RequestException)  # the cause is kept
    warned = warnings_of(caplog)
    assert len(warned) == 1  # on the first retry, not on each
    assert origin in warned[0] and "Connection refused" in warned[0] and "SCRIPTIX_BASE_URL" in warned[0]
    assert "retrying up to 3 times" in warned[0]
    assert TOKEN not in message + repr(caught.value) + "".join(warned)


def test_the_warning_comes_once_per_host_until_it_answers_again(
    caplog: pytest.LogCaptureFixture, made: list[Transport]
) -> None:
    port = closed_port()
    origin = f"http://127.0.0.1:{port}"
    made.append(client := transport(origin, max_retries=1))
    caplog.set_level(logging.WARNING, logger="compat.http")
    for _ in range(2):
        with pytest.raises(APIConnectionError):
            client.request("GET", f"{origin}/x")
    assert len(warnings_of(caplog)) == 1  # the host is still down: said already

    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(1)

    def answer_once() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")

    thread = threading.Thread(target=answer_once, daemon=True)
    thread.start()
    try:
        assert client.request("GET", f"{origin}/x").status_code == 200
    finally:
        thread.join(5)
        listener.close()
    with pytest.raises(APIConnectionError):
        client.request("GET", f"{origin}/x")
    assert len(warnings_of(caplog)) == 2  # it answered in between: down again is news


def test_a_host_other_than_the_base_url_gets_its_own_hint(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture, made: list[Transport]
) -> None:
    made.append(client := transport(httpserver.url_for("/").rstrip("/"), max_retries=1))
    elsewhere = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(APIConnectionError) as caught:
        client.request("HEAD", f"{elsewhere}/api/v3/files/abc")
    assert f"Check that {elsewhere} is up" in str(caught.value)
    assert "SCRIPTIX_BASE_URL" not in str(caught.value)


def test_a_dropped_connection_reached_the_server_and_gets_no_base_url_hint(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture, made: list[Transport]
) -> None:
    def drop(request: Request) -> Response:
        request.environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
        return Response("never seen")

    httpserver.expect_request("/drop").respond_with_handler(drop)
    made.append(client := transport(httpserver.url_for("/").rstrip("/"), max_retries=1))
    caplog.set_level(logging.WARNING, logger="compat.http")
    with pytest.raises(APIConnectionError) as caught:
        client.request("GET", httpserver.url_for("/drop"))
    assert "SCRIPTIX_BASE_URL" not in str(caught.value)
    assert warnings_of(caplog) == []


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRIPTIX_") and k != "PYTHONWARNINGS"}
    env["PYTHONPATH"] = str(REPO)
    return env


def run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
        cwd=REPO,
    )


def test_without_logging_set_up_a_refused_connection_still_shows_on_stderr() -> None:
    port = closed_port()
    done = run(
        f"""
        from compat import APIConnectionError, LegacyClient
        client = LegacyClient(api_key={TOKEN!r}, base_url="http://127.0.0.1:{port}", store=":memory:",
                              max_retries=1, backoff_base=0.01, backoff_max=0.01)
        try:
            client.create_session("en")
        except APIConnectionError as exc:
            print("ERROR", exc)
        """,
        "-W",
        "ignore::DeprecationWarning",
    )
    assert done.returncode == 0, done.stderr
    assert f"scriptix-compat: cannot connect to http://127.0.0.1:{port} (Connection refused)" in done.stderr
    assert "SCRIPTIX_BASE_URL" in done.stderr
    assert "ERROR" in done.stdout and "SCRIPTIX_BASE_URL" in done.stdout
    assert TOKEN not in done.stdout + done.stderr


# warnings filters set before import compat -------------------------------------------------------

LEGACY_CALL = """
from compat import LegacyClient
from compat.emulator import Emulator
with Emulator() as emu:
    LegacyClient(api_key="t", base_url=emu.url, store=":memory:").create_session("en")
print("CALLED")
"""


@pytest.mark.parametrize(
    ("before", "shown"),
    [
        ("", True),  # nothing configured: LegacyV1Warning is shown (a DeprecationWarning otherwise hidden)
        ("warnings.simplefilter('ignore')", False),
        ("warnings.simplefilter('ignore', DeprecationWarning)", False),
        ("warnings.filterwarnings('ignore', category=DeprecationWarning)", False),
        ("warnings.filterwarnings('ignore', message='Scriptix Batch API V1')", False),
        ("warnings.simplefilter('ignore', ResourceWarning)", True),  # about something else: ours still applies
    ],
    ids=["nothing", "ignore-all", "ignore-deprecation", "filterwarnings-deprecation", "by-message", "unrelated"],
)
def test_a_filter_set_before_import_compat_wins(before: str, shown: bool) -> None:
    done = run(f"import warnings\n{before}\nimport compat\n{LEGACY_CALL}")
    assert done.returncode == 0, done.stderr
    assert "CALLED" in done.stdout
    assert ("LegacyV1Warning" in done.stderr) is shown, done.stderr


def test_an_error_filter_set_before_import_compat_turns_the_warning_into_an_error() -> None:
    done = run(f"import warnings\nwarnings.simplefilter('error', DeprecationWarning)\nimport compat\n{LEGACY_CALL}")
    assert done.returncode == 1
    assert "LegacyV1Warning" in done.stderr and "CALLED" not in done.stdout


def test_a_filter_set_after_import_compat_wins_too() -> None:
    done = run(f"import warnings, compat\nwarnings.simplefilter('ignore')\n{LEGACY_CALL}")
    assert done.returncode == 0 and "CALLED" in done.stdout
    assert "LegacyV1Warning" not in done.stderr
