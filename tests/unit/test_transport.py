"""Transport against pytest-httpserver: auth, timeouts, the retry rules, backoff and typed errors."""

from __future__ import annotations

import email.utils
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from compat import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    NotFoundError,
    RateLimitError,
    ServerError,
    ServiceUnavailableError,
    Settings,
)
from compat.v3.transport import RetryPolicy, Transport, parse_retry_after, should_retry

TOKEN = "tr-secret-token-9b2e77"
OTHER_TOKEN = "tr-other-token-41c0aa"


class Sleeps:
    """A fake ``sleep`` that records the delays asked for."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def make_transport(
    httpserver: HTTPServer | None = None,
    *,
    sleep: Callable[[float], None] | None = None,
    policy: RetryPolicy | None = None,
    **options: Any,
) -> Transport:
    options.setdefault("api_key", TOKEN)
    options.setdefault("backoff_base", 0.001)
    options.setdefault("backoff_max", 0.002)
    if httpserver is not None:
        options.setdefault("base_url", httpserver.url_for("/").rstrip("/"))
    settings = Settings.resolve(environ={}, store=":memory:", **options)
    if sleep is None:
        return Transport(settings, policy=policy)
    return Transport(settings, sleep=sleep, policy=policy)


@pytest.fixture
def transports() -> Iterator[list[Transport]]:
    made: list[Transport] = []
    yield made
    for transport in made:
        transport.close()


def sequence(*responses: Response) -> Callable[[Request], Response]:
    """A handler answering ``responses`` in order (the last one repeats)."""
    queue = list(responses)

    def handler(_request: Request) -> Response:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return handler


def drop_connection(request: Request) -> Response:
    request.environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
    return Response("never seen")


def closed_port() -> int:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    sock.close()
    return port


def ok(body: str = '{"ok": true}') -> Response:
    return Response(body, status=200, content_type="application/json")


def requests_seen(httpserver: HTTPServer) -> int:
    return len(httpserver.log)


def settled_requests(httpserver: HTTPServer, expected: int) -> int:
    """The request count once the server has logged ``expected`` requests (or 3 s passed).

    A handler that cuts the connection or stalls is logged only when it returns, which may be
    after the client has already given up; wait for it so that no request leaks into the next test.
    """
    deadline = time.monotonic() + 3
    while requests_seen(httpserver) < expected and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)  # and give an unexpected extra request the chance to show up
    return requests_seen(httpserver)


# auth -----------------------------------------------------------------------------------------


def test_default_auth_header_is_x_zoom_s2t_key(httpserver: HTTPServer, transports: list[Transport]) -> None:
    httpserver.expect_request("/a").respond_with_json({"ok": True})
    transport = make_transport(httpserver)
    transports.append(transport)
    response = transport.request("GET", httpserver.url_for("/a"))
    assert response.json() == {"ok": True}
    request = httpserver.log[0][0]
    assert request.headers.get("x-zoom-s2t-key") == TOKEN
    assert "Authorization" not in request.headers
    assert request.headers["User-Agent"].startswith("scriptix-compat/")


def test_bearer_auth_scheme(httpserver: HTTPServer, transports: list[Transport]) -> None:
    httpserver.expect_request("/a").respond_with_json({"ok": True})
    transport = make_transport(httpserver, auth_scheme="bearer")
    transports.append(transport)
    transport.request("GET", httpserver.url_for("/a"))
    request = httpserver.log[0][0]
    assert request.headers.get("Authorization") == f"Bearer {TOKEN}"
    assert "x-zoom-s2t-key" not in request.headers


@pytest.mark.parametrize(
    ("scheme", "header", "value"),
    [
        ("x-zoom-s2t-key", "x-zoom-s2t-key", OTHER_TOKEN),
        ("bearer", "Authorization", f"Bearer {OTHER_TOKEN}"),
    ],
)
def test_per_call_token_overrides(
    httpserver: HTTPServer, transports: list[Transport], scheme: str, header: str, value: str
) -> None:
    httpserver.expect_request("/a").respond_with_json({"ok": True})
    transport = make_transport(httpserver, auth_scheme=scheme)
    transports.append(transport)
    transport.request("GET", httpserver.url_for("/a"), token=OTHER_TOKEN)
    transport.request("GET", httpserver.url_for("/a"))
    first, second = (entry[0] for entry in httpserver.log)
    assert first.headers.get(header) == value
    assert TOKEN not in str(first.headers)
    assert TOKEN in str(second.headers.get(header))  # the configured token is back on the next call


def test_no_token_no_auth_header(httpserver: HTTPServer, transports: list[Transport]) -> None:
    httpserver.expect_request("/a").respond_with_json({"ok": True})
    transport = make_transport(httpserver, api_key=None)
    transports.append(transport)
    transport.request("GET", httpserver.url_for("/a"))
    request = httpserver.log[0][0]
    assert "x-zoom-s2t-key" not in request.headers
    assert "Authorization" not in request.headers


def test_repr_hides_token() -> None:
    transport = make_transport(base_url="http://127.0.0.1:9")
    try:
        assert TOKEN not in repr(transport)
        assert "127.0.0.1:9" in repr(transport)
    finally:
        transport.close()


# timeouts -------------------------------------------------------------------------------------


def test_timeouts_are_passed_to_every_request() -> None:
    transport = make_transport(base_url="http://127.0.0.1:9", timeout=7, connect_timeout=3)
    try:
        assert transport.timeout == (3.0, 7.0)
    finally:
        transport.close()


@pytest.mark.parametrize(("method", "expected_attempts"), [("POST", 1), ("GET", 2)])
def test_stalled_server_raises_timeout(
    httpserver: HTTPServer, transports: list[Transport], sleeps: Sleeps, method: str, expected_attempts: int
) -> None:
    release = threading.Event()

    def stall(_request: Request) -> Response:
        release.wait(3.0)
        return ok()

    httpserver.expect_request("/slow").respond_with_handler(stall)
    transport = make_transport(httpserver, timeout=0.3, max_retries=1, sleep=sleeps)
    transports.append(transport)
    started = time.monotonic()
    try:
        with pytest.raises(APITimeoutError) as caught:
            transport.request(method, httpserver.url_for("/slow"))
        elapsed = time.monotonic() - started
    finally:
        release.set()
    error = caught.value
    assert error.status_code is None
    assert isinstance(error, requests.Timeout)
    assert isinstance(error, requests.ConnectionError)
    assert isinstance(error, APIConnectionError)
    assert error.body == {"error": error.message}
    assert 0.25 * expected_attempts <= elapsed < 2.5
    # a read timeout may mean the server acted: retried for GET only
    assert len(sleeps.delays) == expected_attempts - 1
    assert settled_requests(httpserver, expected_attempts) == expected_attempts


# Retry-After ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "PATCH"])
def test_429_honours_retry_after_seconds(
    httpserver: HTTPServer, transports: list[Transport], sleeps: Sleeps, method: str
) -> None:
    httpserver.expect_request("/r").respond_with_handler(
        sequence(Response("slow down", status=429, headers={"Retry-After": "2"}), ok())
    )
    transport = make_transport(httpserver, sleep=sleeps)
    transports.append(transport)
    response = transport.request(method, httpserver.url_for("/r"))
    assert response.status_code == 200
    assert sleeps.delays == [2.0]
    assert requests_seen(httpserver) == 2


def test_retry_after_as_http_date(httpserver: HTTPServer, transports: list[Transport], sleeps: Sleeps) -> None:
    when = datetime.now(timezone.utc) + timedelta(seconds=10)
    header = email.utils.format_datetime(when, usegmt=True)
    httpserver.expect_request("/r").respond_with_handler(
        sequence(Response("busy", status=503, headers={"Retry-After": header}), ok())
    )
    transport = make_transport(httpserver, sleep=sleeps)
    transports.append(transport)
    assert transport.request("POST", httpserver.url_for("/r")).status_code == 200
    assert len(sleeps.delays) == 1
    assert 8.0 <= sleeps.delays[0] <= 10.0


def test_retry_after_longer_than_max_is_raised_at_once(
    httpserver: HTTPServer, transports: list[Transport], sleeps: Sleeps
) -> None:
    httpserver.expect_request("/r").respond_with_json(
        {"error": "quota exhausted"}, status=429, headers={"Retry-After": "300"}
    )
    transport = make_transport(httpserver, sleep=sleeps, max_retry_after=120)
    transports.append(transport)
    with pytest.raises(RateLimitError) as caught:
        transport.request("GET", httpserver.url_for("/r"))
    error = caught.value
    assert error.retry_after == 300.0
    assert error.status_code == 429
    assert error.body == {"error": "quota exhausted"}
    assert "quota exhausted" in str(error)
    assert "Retry-After 300" in str(error)
    assert sleeps.delays == []
    assert requests_seen(httpserver) == 1


def test_503_retry_after_longer_than_max_is_raised_at_once(
    httpserver: HTTPServer, transports: list[Transport], sleeps: Sleeps
) -> None:
    httpserver.expect_request("/r").respond_with_data("down", status=503, headers={"Retry-After": "5"})
    transport = make_transport(httpserver, sleep=sleeps, max_retry_after=1)
    transports.append(transport)
    with pytest.raises(ServiceUnavailableError) as caught:
        transport.request("POST", httpserver.url_for("/r"))
    assert caught.value.retry_after == 5.0
    assert sleeps.delays == []
    assert requests_seen(httpserver) == 1


def test_429_after_all_retries_carries_retry_after(
    httpserver: HTTPServer, transports: list[Transport], sleeps: Sleeps
) -> None:
    httpserver.expect_request("/r").respond_with_data("no", status=429, headers={"Retry-After": "1"})
    transport = make_transport(httpserver, sleep=sleeps, max_retries=2)
    transports.append(transport)
    with pytest.raises(RateLimitError) as caught:
        transport.request("GET", httpserver.url_for("/r"))
    assert caught.value.retry_after == 1.0
    assert sleeps.delays == [1.0, 1.0]
    assert requests_seen(httpserver) == 3


# which answers are retried --------------------------------------------------------------------


def test_503_on_post_is_retried(httpserver: HTTPServer, transports: list[Transport], sleeps: Sleeps) -> None:
    httpserver.expect_request("/p", method="POST").respond_with_handler(
        sequence(Response("busy", status=503), ok('{"created": 1}'))
    )
    transport = make_transport(httpserver, sleep=sleeps)
    transports.append(transport)
    response = transport.request("POST", httpserver.url_for("/p"), json={"a": 1})
    assert response.json() == {"created": 1}
    assert requests_seen(httpserver) == 2
    assert len(sleeps.delays) == 1
    assert all(entry[0].get_json() == {"a": 1} for entry in httpserver.log)


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_500_on_non_idempotent_method_is_not_retried(
    httpserver: HTTPServer, transports: list[Transport], sleeps: Sleeps, method: str
) -> None:
    httpserver.expect_request("/p").respond_with_json({"error": "internal"}, status=500)
    transport = make_transport(httpserver, sleep=sleeps, max_retries=3)
    transports.append(transport)
    with pytest.raises(ServerError) as caught:
        transport.request(method, httpserver.url_for("/p"), json={"a": 1})
    assert caught.value.status_code == 500
    assert caught.value.body == {"error": "internal"}
    assert requests_seen(httpserver) == 1
    assert sleeps.delays == []


@pytest.mark.parametrize("max_retries", [0, 1, 3])
def test_500_on_get_is_retried_up_to_max_retries(
    httpserver: HTTPServer, transports: list[Transport], sleeps: Sleeps, max_retries: int
) -> None:
    httpserver.expect_request("/g").respond_with_json({"error": "internal"}, status=500)
    transport = make_transport(httpserver, sleep=sleeps, max_retries=max_retries)
    transports.append(transport)
    with pytest.raises(ServerError) as caught:
        transport.request("GET", httpserver.url_for("/g"))
    assert type(caught.value) is ServerError
    assert requests_seen(httpserver) == max_retries + 1
    assert len(sleeps.delays) == max_retries


def test_500_on_get_then_success(httpserver: HTTPServer, transports: list[Transport], sleeps: Sleeps) -> None:
    httpserver.expect_request("/g").respond_with_handler(
        sequence(Response("x", status=500), Response("x", status=502), ok())
    )
    transport = make_transport(httpserver, sleep=sleeps)
    transports.append(transport)
    assert transport.request("GET", httpserver.url_for("/g")).status_code == 200
    assert requests_seen(httpserver) == 3


def test_4xx_is_not_retried(httpserver: HTTPServer, transports: list[Transport], sleeps: Sleeps) -> None:
    httpserver.expect_request("/g").respond_with_json({"error": "no such session"}, status=404)
    transport = make_transport(httpserver, sleep=sleeps)
    transports.append(transport)
    with pytest.raises(NotFoundError):
        transport.request("GET", httpserver.url_for("/g"))
    assert requests_seen(httpserver) == 1
    assert sleeps.delays == []


def test_retry_false_makes_one_attempt(httpserver: HTTPServer, transports: list[Transport], sleeps: Sleeps) -> None:
    httpserver.expect_request("/g").respond_with_data("busy", status=503)
    transport = make_transport(httpserver, sleep=sleeps)
    transports.append(transport)
    with pytest.raises(ServiceUnavailableError):
        transport.request("GET", httpserver.url_for("/g"), retry=False)
    assert requests_seen(httpserver) == 1


def test_raise_for_status_false_returns_the_answer(
    httpserver: HTTPServer, transports: list[Transport], sleeps: Sleeps
) -> None:
    httpserver.expect_request("/g").respond_with_data("busy", status=503)
    transport = make_transport(httpserver, sleep=sleeps, max_retries=1)
    transports.append(transport)
    response = transport.request("GET", httpserver.url_for("/g"), raise_for_status=False)
    assert response.status_code == 503
    assert requests_seen(httpserver) == 2


# connection failures --------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PATCH", "GET"])
def test_connection_refused_is_retried_for_every_method(
    transports: list[Transport], sleeps: Sleeps, method: str
) -> None:
    port = closed_port()
    transport = make_transport(base_url=f"http://127.0.0.1:{port}", sleep=sleeps, max_retries=2)
    transports.append(transport)
    with pytest.raises(APIConnectionError) as caught:
        transport.request(method, f"http://127.0.0.1:{port}/api/v3/files/")
    error = caught.value
    assert not isinstance(error, APITimeoutError)
    assert isinstance(error, requests.ConnectionError)
    assert error.status_code is None
    assert "Connection refused" in str(error) or "NewConnectionError" in str(error)
    assert len(sleeps.delays) == 2  # nothing reached the server: retried even for POST


def test_connection_refused_then_server_up(transports: list[Transport]) -> None:
    """A POST refused once reaches the server that came up while the transport slept."""
    port = closed_port()
    received: list[bytes] = []
    threads: list[threading.Thread] = []
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)

    def serve_one() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            received.append(data)
            conn.sendall(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")

    def sleep(seconds: float) -> None:
        listener.bind(("127.0.0.1", port))
        listener.listen(1)
        thread = threading.Thread(target=serve_one, daemon=True)
        thread.start()
        threads.append(thread)

    transport = make_transport(base_url=f"http://127.0.0.1:{port}", sleep=sleep, max_retries=1)
    transports.append(transport)
    try:
        response = transport.request("POST", f"http://127.0.0.1:{port}/p", json={"a": 1})
    finally:
        for thread in threads:
            thread.join(5)
        listener.close()
    assert response.status_code == 201
    assert len(received) == 1
    assert received[0].startswith(b"POST /p ")


def test_dropped_connection_on_post_is_not_retried(
    httpserver: HTTPServer, transports: list[Transport], sleeps: Sleeps
) -> None:
    httpserver.expect_request("/d").respond_with_handler(drop_connection)
    transport = make_transport(httpserver, sleep=sleeps, max_retries=3)
    transports.append(transport)
    with pytest.raises(APIConnectionError) as caught:
        transport.request("POST", httpserver.url_for("/d"), data=b"payload")
    error = caught.value
    assert not isinstance(error, APITimeoutError)
    assert isinstance(error, requests.ConnectionError)
    assert error.status_code is None
    assert sleeps.delays == []
    assert settled_requests(httpserver, 1) == 1


def test_dropped_connection_on_get_is_retried(
    httpserver: HTTPServer, transports: list[Transport], sleeps: Sleeps
) -> None:
    httpserver.expect_request("/d").respond_with_handler(drop_connection)
    transport = make_transport(httpserver, sleep=sleeps, max_retries=2)
    transports.append(transport)
    with pytest.raises(APIConnectionError):
        transport.request("GET", httpserver.url_for("/d"))
    assert len(sleeps.delays) == 2
    assert settled_requests(httpserver, 3) == 3


def test_dropped_connection_on_get_then_success(
    httpserver: HTTPServer, transports: list[Transport], sleeps: Sleeps
) -> None:
    answers: list[Callable[[Request], Response]] = [drop_connection, lambda _r: ok('{"n": 2}')]

    def handler(request: Request) -> Response:
        return answers.pop(0)(request)

    httpserver.expect_request("/d").respond_with_handler(handler)
    transport = make_transport(httpserver, sleep=sleeps)
    transports.append(transport)
    assert transport.request("GET", httpserver.url_for("/d")).json() == {"n": 2}
    assert settled_requests(httpserver, 2) == 2


# backoff --------------------------------------------------------------------------------------


def test_backoff_grows_and_is_capped(httpserver: HTTPServer, transports: list[Transport], sleeps: Sleeps) -> None:
    httpserver.expect_request("/g").respond_with_data("x", status=500)
    policy = RetryPolicy(max_retries=6, backoff_base=1.0, backoff_max=5.0, max_retry_after=120, rng=lambda: 1.0)
    transport = make_transport(httpserver, sleep=sleeps, policy=policy)
    transports.append(transport)
    with pytest.raises(ServerError):
        transport.request("GET", httpserver.url_for("/g"))
    assert sleeps.delays == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
    assert requests_seen(httpserver) == 7


@pytest.mark.parametrize(
    ("rng", "expected"),
    [
        (0.0, [0.25, 0.5, 1.0, 1.5, 1.5]),
        (0.5, [0.375, 0.75, 1.5, 2.25, 2.25]),
        (1.0, [0.5, 1.0, 2.0, 3.0, 3.0]),
    ],
)
def test_retry_policy_delays_with_fixed_rng(rng: float, expected: list[float]) -> None:
    policy = RetryPolicy(max_retries=5, backoff_base=0.5, backoff_max=3.0, max_retry_after=60, rng=lambda: rng)
    assert [policy.delay(n) for n in range(1, 6)] == pytest.approx(expected)


def test_retry_policy_jitter_stays_within_half_and_full_step() -> None:
    policy = RetryPolicy(max_retries=5, backoff_base=1.0, backoff_max=100.0, max_retry_after=60)
    for n in range(1, 6):
        step = 2.0 ** (n - 1)
        for _ in range(50):
            assert step / 2 <= policy.delay(n) <= step


def test_retry_policy_server_hint() -> None:
    policy = RetryPolicy(max_retries=5, backoff_base=0.5, backoff_max=3.0, max_retry_after=60, rng=lambda: 0.0)
    assert policy.delay(1, retry_after=7.0) == 7.0
    assert policy.delay(4, retry_after=0.0) == 0.0
    assert policy.delay(1, retry_after=600.0) == 60.0
    assert policy.hint_too_long(61.0)
    assert not policy.hint_too_long(60.0)
    assert not policy.hint_too_long(None)


def test_policy_from_settings() -> None:
    settings = Settings.resolve(
        environ={}, store=":memory:", max_retries=4, backoff_base=0.25, backoff_max=9, max_retry_after=33
    )
    policy = RetryPolicy.from_settings(settings)
    assert (policy.max_retries, policy.backoff_base, policy.backoff_max, policy.max_retry_after) == (4, 0.25, 9.0, 33.0)


def test_zero_delay_does_not_sleep(transports: list[Transport], sleeps: Sleeps) -> None:
    transport = make_transport(base_url="http://127.0.0.1:9", sleep=sleeps)
    transports.append(transport)
    transport.sleep(0)
    transport.sleep(0.5)
    assert sleeps.delays == [0.5]


# parse_retry_after / should_retry -----------------------------------------------------------------

NOW = datetime(2015, 10, 21, 7, 27, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("0", 0.0),
        ("2", 2.0),
        (" 2.5 ", 2.5),
        ("120", 120.0),
        ("-3", 0.0),
        ("soon", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 60.0),
        ("Wed, 21 Oct 2015 07:27:30 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:00:00 GMT", 0.0),  # in the past
        ("Wed, 21 Oct 2015 09:28:00 +0200", 60.0),  # another zone
        ("Wed, 21 Oct 2015 07:28:00 -0000", 60.0),  # no zone: UTC
        ("Wed, 32 Foo 2015 99:99:99 GMT", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


def test_parse_retry_after_date_relative_to_now() -> None:
    header = email.utils.format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    seconds = parse_retry_after(header)
    assert seconds is not None
    assert 28.0 <= seconds <= 30.0


@pytest.mark.parametrize(
    ("method", "status", "expected"),
    [
        ("POST", 429, True),
        ("POST", 503, True),
        ("PATCH", 503, True),
        ("POST", 500, False),
        ("PATCH", 502, False),
        ("POST", 408, False),
        ("GET", 500, True),
        ("HEAD", 504, True),
        ("DELETE", 502, True),
        ("PUT", 500, True),
        ("OPTIONS", 500, True),
        ("get", 408, True),
        ("GET", 404, False),
        ("GET", 400, False),
        ("GET", 401, False),
    ],
)
def test_should_retry_status(method: str, status: int, expected: bool) -> None:
    assert should_retry(method, status=status) is expected


def test_should_retry_errors() -> None:
    refused = requests.ConnectionError(ConnectionRefusedError(111, "Connection refused"))
    assert should_retry("POST", error=refused)
    assert should_retry("POST", error=requests.ConnectTimeout("connect timed out"))
    assert not should_retry("POST", error=requests.ReadTimeout("read timed out"))
    assert not should_retry("PATCH", error=requests.ConnectionError("Connection aborted."))
    assert should_retry("GET", error=requests.ReadTimeout("read timed out"))
    assert not should_retry("GET")


# typed errors ---------------------------------------------------------------------------------


def test_error_carries_status_and_json_body(httpserver: HTTPServer, transports: list[Transport]) -> None:
    httpserver.expect_request("/g").respond_with_json({"error": "invalid key", "code": 17}, status=401)
    transport = make_transport(httpserver)
    transports.append(transport)
    with pytest.raises(AuthenticationError) as caught:
        transport.request("GET", httpserver.url_for("/g"))
    error = caught.value
    assert isinstance(error, requests.HTTPError)
    assert isinstance(error, APIStatusError)
    assert error.status_code == 401
    assert error.body == {"error": "invalid key", "code": 17}
    assert "401" in str(error)
    assert "invalid key" in str(error)
    assert error.response is None  # no live connection or request headers kept
    assert error.request is None


def test_error_with_non_json_body(httpserver: HTTPServer, transports: list[Transport]) -> None:
    httpserver.expect_request("/g").respond_with_data("<html>bad gateway</html>", status=502)
    transport = make_transport(httpserver, max_retries=0)
    transports.append(transport)
    with pytest.raises(ServerError) as caught:
        transport.request("GET", httpserver.url_for("/g"))
    assert caught.value.status_code == 502
    assert caught.value.body == {"error": "<html>bad gateway</html>"}


def test_error_with_empty_body(httpserver: HTTPServer, transports: list[Transport]) -> None:
    httpserver.expect_request("/g").respond_with_data("", status=404)
    transport = make_transport(httpserver)
    transports.append(transport)
    with pytest.raises(NotFoundError) as caught:
        transport.request("GET", httpserver.url_for("/g"))
    assert caught.value.body == {"error": caught.value.message}


def test_connection_error_keeps_no_request(transports: list[Transport], sleeps: Sleeps) -> None:
    port = closed_port()
    transport = make_transport(base_url=f"http://127.0.0.1:{port}", sleep=sleeps, max_retries=0)
    transports.append(transport)
    with pytest.raises(APIConnectionError) as caught:
        transport.request("GET", f"http://127.0.0.1:{port}/x")
    cause = caught.value.__cause__
    assert isinstance(cause, requests.RequestException)
    assert cause.request is None  # the prepared request held the auth header
    assert TOKEN not in repr(caught.value) + str(caught.value)


@pytest.mark.parametrize("token", [None, OTHER_TOKEN], ids=["configured-token", "per-call-token"])
def test_echoed_token_is_redacted(httpserver: HTTPServer, transports: list[Transport], token: str | None) -> None:
    def echo(request: Request) -> Response:
        key = request.headers.get("x-zoom-s2t-key", "")
        return Response(
            f'{{"error": "token {key} is not valid", "echo": {{"key": "{key}"}}}}',
            status=401,
            content_type="application/json",
        )

    httpserver.expect_request("/echo").respond_with_handler(echo)
    transport = make_transport(httpserver)
    transports.append(transport)
    used = token or TOKEN
    with pytest.raises(AuthenticationError) as caught:
        transport.request("GET", httpserver.url_for("/echo"), token=token)
    assert httpserver.log[0][0].headers["x-zoom-s2t-key"] == used  # the server really echoed it
    error = caught.value
    assert error.body == {"error": "token <redacted> is not valid", "echo": {"key": "<redacted>"}}
    assert used not in str(error)
    assert used not in repr(error)
    assert "token <redacted> is not valid" in str(error)
