"""The exception tree of scriptix-compat.

Every error the library raises is a :class:`ScriptixError`; each carries ``status_code`` (the
HTTP status, or ``None`` when no HTTP answer came) and ``body`` (the error JSON, V1-shaped where
the caller speaks V1). Classes also inherit the ``requests`` exception a legacy ``except`` clause
would have caught, so code written for plain ``requests`` keeps catching them::

    ScriptixError(Exception)                 .status_code, .body, .message
    ├── ConfigurationError(ValueError)       a bad option, named; raised at construction
    ├── InvalidRequestError(ValueError)      refused before anything went upstream (400)
    ├── APIStatusError(requests.HTTPError)   the server answered with an error status
    │   ├── BadRequestError                  400
    │   ├── AuthenticationError              401
    │   ├── PermissionDeniedError            403
    │   ├── NotFoundError                    404
    │   ├── ConflictError                    409
    │   ├── GoneError                        410
    │   ├── PreconditionFailedError          412
    │   ├── PayloadTooLargeError             413
    │   ├── UnsupportedMediaTypeError        415
    │   ├── UnprocessableEntityError         422
    │   ├── RateLimitError                   429  (.retry_after)
    │   └── ServerError                      5xx
    │       └── ServiceUnavailableError      503  (.retry_after)
    ├── APIConnectionError(requests.ConnectionError)   no answer: refused, reset, DNS
    │   └── APITimeoutError(requests.Timeout)          no answer in time
    ├── UploadError                          a TUS upload could not finish (.upload_url)
    │   └── UploadCancelledError             cancelled on purpose; the upload was terminated
    ├── StoreError                           503: the state store cannot be used now (full, read-only, locked)
    ├── WaitTimeoutError(TimeoutError)       ``LegacyClient.wait`` gave up; the job keeps running (.session_id)
    └── LegacyCallError                      strict mode: a legacy call not in the baseline (.operation, .site)

Messages never contain the API token: bodies are redacted before they are stored here.
"""

from __future__ import annotations

from typing import Any, Protocol

import requests

from compat.redact import redact

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "GoneError",
    "InvalidRequestError",
    "LegacyCallError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PreconditionFailedError",
    "RateLimitError",
    "ScriptixError",
    "ServerError",
    "ServiceUnavailableError",
    "StoreError",
    "UnprocessableEntityError",
    "UnsupportedMediaTypeError",
    "UploadCancelledError",
    "UploadError",
    "WaitTimeoutError",
]


class ScriptixError(Exception):
    """Base class of every error raised by scriptix-compat.

    Attributes:
        message: a human-readable explanation.
        status_code: the HTTP status of the answer, or ``None`` when there was no answer.
        body: the error JSON (``{"error": ...}``), or ``None``.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        body: Any = None,
    ) -> None:
        message = redact(message)
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.body = redact(body) if body is not None else {"error": message}

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code!r}, message={self.message!r})"


class ConfigurationError(ScriptixError, ValueError):
    """An option has a value the library cannot use; the message names the option."""

    def __init__(self, message: str, *, option: str) -> None:
        super().__init__(message)
        self.option = option


class InvalidRequestError(ScriptixError, ValueError):
    """The call was refused locally, before anything went upstream (``status_code`` 400)."""

    def __init__(self, message: str, *, status_code: int = 400, body: Any = None) -> None:
        super().__init__(message, status_code=status_code, body=body)


class APIStatusError(ScriptixError, requests.HTTPError):
    """The server answered with a 4xx or 5xx status."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: Any = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, body=body)
        self.retry_after = retry_after


class BadRequestError(APIStatusError):
    """400: the request was malformed or not allowed in the current state."""


class AuthenticationError(APIStatusError):
    """401: the token is missing or not accepted."""


class PermissionDeniedError(APIStatusError):
    """403: the token may not do this."""


class NotFoundError(APIStatusError):
    """404: unknown, or owned by another token."""


class ConflictError(APIStatusError):
    """409: e.g. a TUS offset that does not match the server's."""


class GoneError(APIStatusError):
    """410: the resource or the endpoint no longer exists."""


class PreconditionFailedError(APIStatusError):
    """412: e.g. a TUS version the server does not speak."""


class PayloadTooLargeError(APIStatusError):
    """413: the upload is larger than the server accepts."""


class UnsupportedMediaTypeError(APIStatusError):
    """415: the content type is not accepted."""


class UnprocessableEntityError(APIStatusError):
    """422: the body is well-formed but invalid."""


class RateLimitError(APIStatusError):
    """429: too many requests; ``retry_after`` holds the server's hint in seconds."""


class ServerError(APIStatusError):
    """5xx: the server failed."""


class ServiceUnavailableError(ServerError):
    """503: the server is temporarily unable to answer."""


class APIConnectionError(ScriptixError, requests.ConnectionError):
    """No HTTP answer: the connection was refused, reset or could not be made."""


class APITimeoutError(APIConnectionError, requests.Timeout):
    """No HTTP answer within the configured timeout."""


class UploadError(ScriptixError):
    """A TUS upload could not be completed; ``upload_url`` allows a later resume."""

    def __init__(
        self,
        message: str,
        *,
        upload_url: str | None = None,
        status_code: int | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message, status_code=status_code, body=body)
        self.upload_url = upload_url


class UploadCancelledError(UploadError):
    """The upload was cancelled by the caller and terminated on the server."""


class StoreError(ScriptixError):
    """The state store could not be read or written (disk full, read-only file, lock timeout).

    Its ``status_code`` is 503: the shim cannot serve the call right now; the caller may retry.
    The message names the store (for the operator); the ``body`` a caller may see does not.
    """

    def __init__(self, message: str, *, reason: str = "") -> None:
        public = f"Service Unavailable: the shim's state store cannot be used ({reason or 'see its log'}); retry later"
        super().__init__(message, status_code=503, body={"error": public})


class WaitTimeoutError(ScriptixError, TimeoutError):
    """``wait`` gave up; the job keeps running on Scriptix. ``session_id`` names it."""

    def __init__(self, session_id: str, waited: float, last_status: str | None) -> None:
        message = (
            f"session {session_id} was not done after {waited:.0f} s (last status {last_status!r}); "
            f"it keeps running: call get_result({session_id!r}) or wait() again later"
        )
        super().__init__(message, body={"error": message, "session_id": session_id})
        self.session_id = session_id
        self.last_status = last_status


class CallSiteLike(Protocol):
    """Where a legacy call came from (:class:`compat.hooks.CallSite`)."""

    @property
    def file(self) -> str: ...
    @property
    def line(self) -> int: ...
    @property
    def function(self) -> str: ...


class LegacyCallError(ScriptixError):
    """Strict mode: a legacy call from a site that is not in the baseline.

    ``operation`` is the V1 call, ``site`` where it was made; ``replacement`` names its V3 equivalent.
    """

    def __init__(self, operation: str, site: CallSiteLike, baseline: str, *, replacement: str) -> None:
        message = (
            f"new legacy call {operation} at {site.file}:{site.line} (in {site.function}) is not in the "
            f"baseline {baseline}; move it to V3 ({replacement}) or add it to the baseline"
        )
        super().__init__(message)
        self.operation = operation
        self.site = site


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    410: GoneError,
    412: PreconditionFailedError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaTypeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
    503: ServiceUnavailableError,
}


def error_for_status(
    status_code: int,
    message: str,
    *,
    body: Any = None,
    retry_after: float | None = None,
) -> APIStatusError:
    """Build the :class:`APIStatusError` subclass that matches ``status_code``."""
    cls = _STATUS_CLASSES.get(status_code)
    if cls is None:
        cls = ServerError if status_code >= 500 else APIStatusError
    return cls(message, status_code=status_code, body=body, retry_after=retry_after)
