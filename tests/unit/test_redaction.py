"""Redaction: registered secrets leave strings, nested structures and the ``compat.http`` log records."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from compat import APIConnectionError, Settings
from compat.redact import REDACTED, RedactingFilter, redact, register_secret, token_digest
from compat.v3.transport import Transport

TOKEN = "redact-secret-token-3e9f0b"
LONGER = TOKEN + "-and-more"


def test_unregistered_text_is_untouched() -> None:
    assert redact("nothing-registered-here-zz91") == "nothing-registered-here-zz91"


def test_registered_secret_is_replaced_everywhere_in_a_string() -> None:
    register_secret(TOKEN)
    assert redact(f"a {TOKEN} b {TOKEN}") == f"a {REDACTED} b {REDACTED}"
    assert REDACTED == "<redacted>"


def test_longest_secret_wins() -> None:
    register_secret(TOKEN)
    register_secret(LONGER)
    assert redact(f"x{LONGER}y") == f"x{REDACTED}y"


def test_short_or_empty_secrets_are_not_registered() -> None:
    register_secret("abc")
    register_secret("")
    register_secret(None)
    assert redact("abc abcdef") == "abc abcdef"


def test_redact_nested_structures() -> None:
    register_secret(TOKEN)
    value: dict[str, Any] = {
        "error": f"bad {TOKEN}",
        TOKEN: "as a key",
        "list": [TOKEN, {"deep": [f"x{TOKEN}x", 3, None]}],
        "tuple": (TOKEN, 1.5),
        "number": 42,
        "flag": True,
        "none": None,
    }
    assert redact(value) == {
        "error": f"bad {REDACTED}",
        REDACTED: "as a key",
        "list": [REDACTED, {"deep": [f"x{REDACTED}x", 3, None]}],
        "tuple": (REDACTED, 1.5),
        "number": 42,
        "flag": True,
        "none": None,
    }
    assert TOKEN in value["error"]  # the input is not modified in place


def test_token_digest_is_keyed() -> None:
    assert token_digest(TOKEN, b"k1") == token_digest(TOKEN, b"k1")
    assert token_digest(TOKEN, b"k1") != token_digest(TOKEN, b"k2")
    assert token_digest(TOKEN, b"k1") != token_digest(LONGER, b"k1")
    assert TOKEN not in token_digest(TOKEN, b"k1")


# the log filter -------------------------------------------------------------------------------


def make_record(msg: object, args: object) -> logging.LogRecord:
    return logging.LogRecord("compat.http", logging.INFO, __file__, 1, msg, args, None)  # type: ignore[arg-type]


def test_filter_redacts_message_and_tuple_args() -> None:
    register_secret(TOKEN)
    record = make_record(f"token {TOKEN} in the message; arg %s; number %d", (f"[{TOKEN}]", 7))
    assert RedactingFilter().filter(record) is True
    assert record.getMessage() == f"token {REDACTED} in the message; arg [{REDACTED}]; number 7"


def test_filter_redacts_mapping_args() -> None:
    register_secret(TOKEN)
    record = make_record("key=%(key)s n=%(n)d", ({"key": TOKEN, "n": 1},))
    RedactingFilter().filter(record)
    assert record.getMessage() == f"key={REDACTED} n=1"


def test_filter_redacts_arguments_that_are_not_strings() -> None:
    """An exception (or any object) whose text holds the token must not carry it into the log."""
    register_secret(TOKEN)
    record = make_record("retry after %s", (RuntimeError(f"GET /x/{TOKEN}: connection failed"),))
    RedactingFilter().filter(record)
    assert TOKEN not in record.getMessage()


def test_filter_redacts_objects_inside_container_arguments() -> None:
    """A list or dict argument is formatted with the repr of what it holds: that text must be clean too."""
    register_secret(TOKEN)
    failure = RuntimeError(f"GET /x/{TOKEN}: connection failed")
    for record in (
        make_record("failures: %s", ([failure],)),
        make_record("failures: %s", ((failure, 1),)),
        make_record("failures: %(all)s", ({"all": {"first": failure}},)),
    ):
        RedactingFilter().filter(record)
        assert TOKEN not in record.getMessage(), record.getMessage()


def test_filter_keeps_numeric_formatting() -> None:
    register_secret(TOKEN)
    record = make_record("%d retries, %.2f s, %r", (3, 0.5, TOKEN))
    RedactingFilter().filter(record)
    assert record.getMessage() == f"3 retries, 0.50 s, '{REDACTED}'"


def test_filter_redacts_a_message_that_is_not_a_string() -> None:
    register_secret(TOKEN)
    record = make_record(RuntimeError(f"failed with {TOKEN}"), None)
    RedactingFilter().filter(record)
    assert TOKEN not in record.getMessage()


# the filter on the compat.http logger, end to end ---------------------------------------------


@pytest.fixture
def transport(httpserver: HTTPServer) -> Iterator[Transport]:
    settings = Settings.resolve(
        environ={},
        api_key=TOKEN,
        store=":memory:",
        base_url=httpserver.url_for("/").rstrip("/"),
        backoff_base=0.001,
        backoff_max=0.002,
        max_retries=2,
    )
    transport = Transport(settings, sleep=lambda _s: None)
    yield transport
    transport.close()


def assert_token_absent(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    records = [r for r in caplog.records if r.name == "compat.http"]
    assert records, "compat.http logged nothing: the test would prove nothing"
    for record in records:
        assert TOKEN not in record.getMessage(), record.getMessage()
    return records


def test_debug_logs_of_requests_hold_no_token(
    httpserver: HTTPServer, transport: Transport, caplog: pytest.LogCaptureFixture
) -> None:
    """The token sits in the URL path; every request, retry and error line must hide it."""
    path = f"/echo/{TOKEN}"
    answers = [Response("busy", status=503), Response("x", status=500), Response('{"ok": 1}', status=200)]

    def handler(_request: Request) -> Response:
        return answers.pop(0)

    httpserver.expect_request(path).respond_with_handler(handler)
    caplog.set_level(logging.DEBUG, logger="compat.http")
    assert transport.request("GET", httpserver.url_for(path)).status_code == 200
    records = assert_token_absent(caplog)
    messages = [r.getMessage() for r in records]
    assert any("-> 503" in m for m in messages)
    assert any("retry 2" in m for m in messages)
    assert any(REDACTED in m for m in messages)


def test_direct_log_calls_on_compat_http_are_redacted(transport: Transport, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="compat.http")
    log = logging.getLogger("compat.http")
    log.debug("header x-zoom-s2t-key: %s", TOKEN)
    log.info(f"inline {TOKEN}")
    log.warning("%(key)s", {"key": TOKEN})
    records = assert_token_absent(caplog)
    assert len(records) == 3


def test_connection_failure_logs_hold_no_token(transport: Transport, caplog: pytest.LogCaptureFixture) -> None:
    """Connection refused, retried: the retry line logs the error object itself."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    caplog.set_level(logging.DEBUG, logger="compat.http")
    with pytest.raises(APIConnectionError):
        transport.request("GET", f"http://127.0.0.1:{port}/api/v3/files/{TOKEN}")
    assert_token_absent(caplog)


def test_the_secret_register_is_bounded_and_keeps_recent_tokens() -> None:
    from compat import redact as module

    saved = module._secrets.copy()
    try:
        _check_bounded(module)
    finally:
        with module._lock:
            module._secrets.clear()
            module._secrets.update(saved)


def _check_bounded(module: Any) -> None:
    first = "first-token-0000"
    module.register_secret(first)
    for number in range(module.MAX_SECRETS + 10):
        module.register_secret(f"caller-token-{number:06d}")
    assert len(module._secrets) == module.MAX_SECRETS
    assert module.redact(first) == first  # the oldest fell out
    latest = f"caller-token-{module.MAX_SECRETS + 9:06d}"
    assert module.redact(f"x {latest} y") == "x <redacted> y"
