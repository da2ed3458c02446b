"""The error tree: status mapping, requests compatibility, and no token in repr/str."""

from __future__ import annotations

import socket
import threading
import time
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
    BadRequestError,
    ConfigurationError,
    ConflictError,
    GoneError,
    InvalidRequestError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    PreconditionFailedError,
    RateLimitError,
    ScriptixError,
    ServerError,
    ServiceUnavailableError,
    Settings,
    UnprocessableEntityError,
    UnsupportedMediaTypeError,
    UploadCancelledError,
    UploadError,
)
from compat.errors import error_for_status
from compat.redact import register_secret
from compat.v3.transport import Transport

TOKEN = "err-secret-token-c41d2e"

STATUS_CLASSES = [
    (400, BadRequestError),
    (401, AuthenticationError),
    (403, PermissionDeniedError),
    (404, NotFoundError),
    (409, ConflictError),
    (410, GoneError),
    (412, PreconditionFailedError),
    (413, PayloadTooLargeError),
    (415, UnsupportedMediaTypeError),
    (422, UnprocessableEntityError),
    (429, RateLimitError),
    (503, ServiceUnavailableError),
]


@pytest.mark.parametrize(("status", "cls"), STATUS_CLASSES)
def test_error_for_status_maps_listed_statuses(status: int, cls: type[APIStatusError]) -> None:
    error = error_for_status(status, "boom", body={"error": "boom"}, retry_after=3.0)
    assert type(error) is cls
    assert error.status_code == status
    assert error.body == {"error": "boom"}
    assert error.retry_after == 3.0
    assert error.message == "boom"
    assert str(error) == "boom"
    assert isinstance(error, APIStatusError)
    assert isinstance(error, ScriptixError)
    assert isinstance(error, requests.HTTPError)
    assert isinstance(error, requests.RequestException)


@pytest.mark.parametrize("status", [402, 405, 406, 408, 418, 451, 499])
def test_unknown_4xx_is_plain_api_status_error(status: int) -> None:
    error = error_for_status(status, "nope")
    assert type(error) is APIStatusError
    assert error.status_code == status
    assert not isinstance(error, ServerError)


@pytest.mark.parametrize("status", [500, 501, 502, 504, 507, 599])
def test_other_5xx_is_server_error(status: int) -> None:
    error = error_for_status(status, "down")
    assert type(error) is ServerError
    assert isinstance(error, requests.HTTPError)


def test_service_unavailable_is_a_server_error() -> None:
    assert isinstance(error_for_status(503, "busy"), ServerError)


def test_body_defaults_to_error_json() -> None:
    error = error_for_status(404, "no such session")
    assert error.body == {"error": "no such session"}
    assert ScriptixError("plain").body == {"error": "plain"}
    assert ScriptixError("plain").status_code is None


def test_requests_compatibility_of_the_tree() -> None:
    assert issubclass(APIConnectionError, requests.ConnectionError)
    assert issubclass(APITimeoutError, requests.Timeout)
    assert issubclass(APITimeoutError, APIConnectionError)
    assert issubclass(ConfigurationError, ValueError)
    assert issubclass(InvalidRequestError, ValueError)
    assert issubclass(UploadCancelledError, UploadError)
    for cls in (APIConnectionError, APITimeoutError, ConfigurationError, InvalidRequestError, UploadError):
        assert issubclass(cls, ScriptixError)


def test_legacy_except_clauses_catch_them() -> None:
    with pytest.raises(requests.HTTPError):
        raise error_for_status(401, "bad key")
    with pytest.raises(requests.ConnectionError):
        raise APIConnectionError("refused")
    with pytest.raises(requests.Timeout):
        raise APITimeoutError("slow")
    with pytest.raises(requests.RequestException):
        raise APITimeoutError("slow")


def test_attributes_of_the_other_errors() -> None:
    invalid = InvalidRequestError("bad id")
    assert invalid.status_code == 400
    assert invalid.body == {"error": "bad id"}
    config = ConfigurationError("option 'timeout' ...", option="timeout")
    assert config.option == "timeout"
    assert config.status_code is None
    upload = UploadError("stopped", upload_url="http://h/api/v3/files/abc", status_code=502)
    assert upload.upload_url == "http://h/api/v3/files/abc"
    assert upload.status_code == 502
    assert APIConnectionError("refused").status_code is None


ERROR_FACTORIES: list[tuple[str, Any]] = [
    ("ScriptixError", lambda m, b: ScriptixError(m, body=b)),
    ("ConfigurationError", lambda m, b: ConfigurationError(m, option="api_key")),
    ("InvalidRequestError", lambda m, b: InvalidRequestError(m, body=b)),
    ("APIConnectionError", lambda m, b: APIConnectionError(m, body=b)),
    ("APITimeoutError", lambda m, b: APITimeoutError(m, body=b)),
    ("UploadError", lambda m, b: UploadError(m, upload_url="http://h/f/1", body=b)),
    ("UploadCancelledError", lambda m, b: UploadCancelledError(m, body=b)),
    *[(cls.__name__, lambda m, b, s=s: error_for_status(s, m, body=b)) for s, cls in STATUS_CLASSES],
    ("APIStatusError-418", lambda m, b: error_for_status(418, m, body=b)),
    ("ServerError-500", lambda m, b: error_for_status(500, m, body=b)),
]


@pytest.mark.parametrize("factory", [f for _, f in ERROR_FACTORIES], ids=[n for n, _ in ERROR_FACTORIES])
def test_every_error_redacts_its_own_message_and_body(factory: Any) -> None:
    register_secret(TOKEN)
    error = factory(f"call with {TOKEN} failed", {"error": TOKEN, "list": [f"x{TOKEN}"]})
    for text in (str(error), repr(error), error.message, str(error.args), str(error.body)):
        assert TOKEN not in text
    assert "<redacted>" in str(error)


def test_repr_shows_class_status_and_message() -> None:
    error = error_for_status(404, "GET /x answered 404")
    assert repr(error) == "NotFoundError(status_code=404, message='GET /x answered 404')"


# no token in repr/str of errors produced from real answers ---------------------------------------


@pytest.mark.parametrize(
    "status", [400, 401, 403, 404, 409, 410, 412, 413, 415, 422, 429, 500, 503, 418], ids=lambda s: f"HTTP{s}"
)
def test_errors_from_answers_never_contain_the_token(httpserver: HTTPServer, status: int) -> None:
    """The server echoes the token in every field; nothing of it survives in the error."""
    httpserver.expect_request("/echo").respond_with_json(
        {"error": f"key {TOKEN} rejected", "detail": TOKEN, "nested": [{"token": TOKEN}]},
        status=status,
    )
    settings = Settings.resolve(
        environ={}, api_key=TOKEN, store=":memory:", base_url=httpserver.url_for("/").rstrip("/"), max_retries=0
    )
    transport = Transport(settings, sleep=lambda _s: None)
    try:
        with pytest.raises(APIStatusError) as caught:
            transport.request("GET", httpserver.url_for("/echo"))
    finally:
        transport.close()
    error = caught.value
    expected = dict(STATUS_CLASSES).get(status, ServerError if status >= 500 else APIStatusError)
    assert type(error) is expected
    assert error.status_code == status
    for text in (str(error), repr(error), error.message, str(error.body), repr(error.args)):
        assert TOKEN not in text
    assert "<redacted>" in str(error)
    assert error.body == {
        "error": "key <redacted> rejected",
        "detail": "<redacted>",
        "nested": [{"token": "<redacted>"}],
    }


# no token in errors raised without an answer ---------------------------------------------------


def _closed_port() -> int:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    sock.close()
    return port


def test_connection_error_never_contains_the_token() -> None:
    """Like answered errors, a connection error must not show a token that sits in the URL."""
    port = _closed_port()
    settings = Settings.resolve(environ={}, api_key=TOKEN, store=":memory:", max_retries=0)
    transport = Transport(settings, sleep=lambda _s: None)
    try:
        with pytest.raises(APIConnectionError) as caught:
            transport.request("POST", f"http://127.0.0.1:{port}/api/v3/files/{TOKEN}")
    finally:
        transport.close()
    assert caught.value.status_code is None
    for text in (str(caught.value), repr(caught.value), str(caught.value.body)):
        assert TOKEN not in text


def test_timeout_error_never_contains_the_token(httpserver: HTTPServer) -> None:
    release = threading.Event()

    def stall(_request: Request) -> Response:
        release.wait(3.0)
        return Response("late")

    path = f"/api/v3/files/{TOKEN}"
    httpserver.expect_request(path).respond_with_handler(stall)
    settings = Settings.resolve(environ={}, api_key=TOKEN, store=":memory:", timeout=0.2, max_retries=0)
    transport = Transport(settings, sleep=lambda _s: None)
    try:
        with pytest.raises(APITimeoutError) as caught:
            transport.request("POST", httpserver.url_for(path))
    finally:
        release.set()
        transport.close()
    deadline = time.monotonic() + 3  # let the stalled request finish before the next test
    while not httpserver.log and time.monotonic() < deadline:
        time.sleep(0.01)
    assert caught.value.status_code is None
    for text in (str(caught.value), repr(caught.value), str(caught.value.body)):
        assert TOKEN not in text
