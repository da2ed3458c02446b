"""HTTP to Scriptix: one pooled ``requests.Session``, timeouts on every call, careful retries.

Retry rules (one place, :func:`should_retry`):

* 429 and 503 are retried for every method: the server says it did not act. ``Retry-After``
  (seconds or an HTTP date) is honoured up to ``max_retry_after``; a longer hint is raised.
* Other 5xx, 408, timeouts and dropped connections are retried only for idempotent methods
  (GET, HEAD, PUT, DELETE, OPTIONS): a POST or PATCH that may have been acted on is not repeated.
* A connection that could not be made (refused, connect timeout) is retried for every method:
  nothing reached the server. The first such retry logs a WARNING naming the host (once per host
  until it answers again), and the final error says what was tried and to check the base URL.
  The TUS uploader, which retries its PATCH and HEAD itself, says both the same way
  (:meth:`Transport.warn_unreachable`, :meth:`Transport.unreachable_error`).

Delays grow exponentially from ``backoff_base`` with full jitter, capped at ``backoff_max``.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

from compat import telemetry
from compat._version import __version__
from compat.config import Settings
from compat.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    RateLimitError,
    ScriptixError,
    error_for_status,
)
from compat.redact import install_log_filter, redact, register_secret

__all__ = [
    "INTERNAL_ADAPTER_ATTRIBUTE",
    "RequestRecord",
    "RetryPolicy",
    "Transport",
    "is_internal_adapter",
    "parse_retry_after",
    "should_retry",
]

log = logging.getLogger("compat.http")
install_log_filter(log)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
# Bytes handed to the socket per write when a body is streamed; bounded memory, few Python calls.
STREAM_BLOCK_SIZE = 256 * 1024


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = now or datetime.now(timezone.utc)
    return max(0.0, (when - current).total_seconds())


def connection_was_not_made(error: BaseException) -> bool:
    """True when ``error`` proves the request never reached the server (refused, connect timeout)."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, urllib3.exceptions.NewConnectionError | ConnectionRefusedError):
            return True
        if isinstance(current, urllib3.exceptions.MaxRetryError) and current.reason is not None:
            current = current.reason
            continue
        nested = current.args[0] if current.args and isinstance(current.args[0], BaseException) else None
        current = nested or current.__cause__ or current.__context__
    return False


def should_retry(method: str, *, status: int | None = None, error: BaseException | None = None) -> bool:
    """Whether an attempt that ended with ``status`` or ``error`` may be made again."""
    if status is not None:
        if status in (429, 503):
            return True
        return method.upper() in IDEMPOTENT_METHODS and (status >= 500 or status == 408)
    if error is not None:
        if connection_was_not_made(error):
            return True
        return method.upper() in IDEMPOTENT_METHODS
    return False


class RequestRecord(NamedTuple):
    """One attempt as observers see it: method, URL without query, status (None: no answer), seconds."""

    method: str
    url: str
    status: int | None
    seconds: float


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Exponential backoff with full jitter and a cap; honours server hints (``rng``: the jitter's source)."""

    max_retries: int
    backoff_base: float
    backoff_max: float
    max_retry_after: float
    rng: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            max_retries=settings.max_retries,
            backoff_base=settings.backoff_base,
            backoff_max=settings.backoff_max,
            max_retry_after=settings.max_retry_after,
        )

    def delay(self, retry_number: int, retry_after: float | None = None) -> float:
        """Seconds to sleep before retry number ``retry_number`` (1-based)."""
        if retry_after is not None:
            return float(min(retry_after, self.max_retry_after))
        ceiling = min(self.backoff_max, self.backoff_base * (2 ** (retry_number - 1)))
        # Full jitter, but never below half the step, so retries still spread out over time.
        return float(ceiling * (0.5 + 0.5 * self.rng()))

    def hint_too_long(self, retry_after: float | None) -> bool:
        return retry_after is not None and retry_after > self.max_retry_after


AFTER_LOST_ANSWER = "scriptix_compat_after_lost_answer"
"""Set on a response when an earlier attempt of the same call may have reached the server unanswered."""

INTERNAL_ADAPTER_ATTRIBUTE = "scriptix_compat_internal"
"""Set to True on the adapters the shim itself sends through; ``compat.install()`` never intercepts them."""


def is_internal_adapter(adapter: object) -> bool:
    """Whether ``adapter`` carries the shim's own traffic (upstream V3 calls, media downloads)."""
    return getattr(adapter, INTERNAL_ADAPTER_ATTRIBUTE, False) is True


class _StreamingAdapter(HTTPAdapter):
    """An adapter whose connections write streamed bodies in large blocks."""

    scriptix_compat_internal = True

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("blocksize", STREAM_BLOCK_SIZE)
        super().init_poolmanager(*args, **kwargs)


class Transport:
    """Sends requests to Scriptix with auth, timeouts and the retry rules above.

    One instance owns one pooled ``requests.Session``; it is safe to share between threads.
    The token is taken from the settings, or per call (the gateway passes each caller's own).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.policy = policy or RetryPolicy.from_settings(settings)
        self._sleep = sleep
        register_secret(settings.token())
        self.session = requests.Session()
        self.session.trust_env = False
        adapter = _StreamingAdapter(pool_connections=4, pool_maxsize=32, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = f"scriptix-compat/{__version__}"
        self.observers: list[Callable[[RequestRecord], None]] = []
        """Called after every attempt with a :class:`RequestRecord` (no headers, no token)."""
        self._unreachable: set[str] = set()  # origins warned about, until they answer again

    def _notify(self, method: str, url: str, started: float) -> None:
        for observer in self.observers:
            observer(RequestRecord(method, _path(url), None, time.monotonic() - started))

    def __repr__(self) -> str:
        return f"Transport(base_url={self.settings.base_url!r}, api_key=<redacted>)"

    def close(self) -> None:
        self.session.close()

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.settings.connect_timeout, self.settings.timeout)

    def auth_headers(self, token: str | None = None) -> dict[str, str]:
        """The authentication header for ``token`` (default: the configured one)."""
        secret = token if token is not None else self.settings.token()
        if not secret:
            return {}
        register_secret(secret)
        if self.settings.auth_scheme == "bearer":
            return {"Authorization": f"Bearer {secret}"}
        return {"x-zoom-s2t-key": secret}

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._sleep(seconds)

    def send_once(
        self,
        method: str,
        url: str,
        *,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """One attempt, no retries; connection failures become :class:`APIConnectionError`."""
        merged = {**self.auth_headers(token), **(headers or {})}
        started = time.monotonic()
        try:
            response = self.session.request(
                method, url, headers=merged, timeout=self.timeout, allow_redirects=False, **kwargs
            )
        except requests.Timeout as exc:
            log.debug("%s %s: timed out", method, _path(url))
            self._notify(method, url, started)
            telemetry.upstream_error("timeout")
            raise APITimeoutError(f"{method} {_path(url)}: no answer within {self.settings.timeout:g} s") from _plain(
                exc
            )
        except requests.RequestException as exc:
            log.debug("%s %s: %s", method, _path(url), type(exc).__name__)
            self._notify(method, url, started)
            telemetry.upstream_error("connection")
            raise APIConnectionError(f"{method} {_path(url)}: connection failed ({_reason(exc)})") from _plain(exc)
        elapsed = time.monotonic() - started
        self._unreachable.discard(_origin(url))  # it answered: down again is news
        log.debug("%s %s -> %s (%.3f s)", method, _path(url), response.status_code, elapsed)
        for observer in self.observers:
            observer(RequestRecord(method, _path(url), response.status_code, elapsed))
        telemetry.upstream_status(response.status_code)
        return response

    def request(
        self,
        method: str,
        url: str,
        *,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        retry: bool = True,
        raise_for_status: bool = True,
        **kwargs: Any,
    ) -> requests.Response:
        """Send with retries per :func:`should_retry`; raise a typed error on failure.

        With ``raise_for_status=False`` an error status is returned, not raised (after retries).
        ``retry=False`` makes exactly one attempt (the TUS uploader does its own resume logic).
        """
        method = method.upper()
        attempt = 0
        lost_answer = False
        started = time.monotonic()
        while True:
            attempt += 1
            try:
                response = self.send_once(method, url, token=token, headers=headers, **kwargs)
            except APIConnectionError as exc:
                cause = exc.__cause__ or exc
                not_made = connection_was_not_made(cause)
                if not (retry and attempt <= self.policy.max_retries and should_retry(method, error=cause)):
                    if not_made and retry:  # without retry= the caller retries, and says this in the end
                        raise self.unreachable_error(exc, attempt, time.monotonic() - started, url) from cause
                    raise
                lost_answer = lost_answer or not not_made
                wait = self.policy.delay(attempt)
                if not_made:
                    self.warn_unreachable(url, exc)
                log.info("%s %s failed (%s); retry %d in %.2f s", method, _path(url), exc, attempt, wait)
                telemetry.upstream_retry("request")
                self.sleep(wait)
                continue
            # An earlier attempt may have been acted on without its answer reaching us: a retried
            # DELETE then hears "already removed" for its own success (see V3Client.delete_session).
            setattr(response, AFTER_LOST_ANSWER, lost_answer)
            status = response.status_code
            if status < 400:
                return response
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            can_retry = retry and attempt <= self.policy.max_retries and should_retry(method, status=status)
            if can_retry and not self.policy.hint_too_long(retry_after):
                wait = self.policy.delay(attempt, retry_after)
                log.info("%s %s answered %d; retry %d in %.2f s", method, _path(url), status, attempt, wait)
                response.close()
                telemetry.upstream_retry("request")
                self.sleep(wait)
                continue
            if not raise_for_status:
                return response
            raise error_from_response(response, method=method, retry_after=retry_after)

    def warn_unreachable(self, url: str, error: APIConnectionError) -> None:
        """Say at once (WARNING, shown even without logging set up) that the host cannot be reached:
        once per host, until it answers again. For a connection that could not be made
        (:func:`connection_was_not_made`), by :meth:`request` and by callers that retry themselves."""
        origin = _origin(url)
        if origin in self._unreachable:
            return
        self._unreachable.add(origin)
        longest = sum(
            min(self.policy.backoff_max, self.policy.backoff_base * 2**n) for n in range(self.policy.max_retries)
        )
        log.warning(
            "scriptix-compat: cannot connect to %s (%s); retrying up to %d times over at most %.0f s. %s",
            origin,
            _reason_of(error),
            self.policy.max_retries,
            longest,
            self._hint(origin),
        )

    def unreachable_error(
        self, error: APIConnectionError, attempts: int, seconds: float, url: str
    ) -> APIConnectionError:
        """The final error for a host that never accepted a connection: what was tried, and what to check
        (by :meth:`request`, and by callers that retry themselves)."""
        origin = _origin(url)
        tried = f"{attempts} attempt{'s' if attempts != 1 else ''} over {seconds:.1f} s"
        return type(error)(f"{error.message}; {tried}, no connection to {origin}. {self._hint(origin)}")

    def _hint(self, origin: str) -> str:
        if origin == _origin(self.settings.base_url):
            return (
                "Is the Scriptix host and port right? Check base_url / SCRIPTIX_BASE_URL "
                "(the gateway's --upstream) and that the server is up."
            )
        return f"Check that {origin} is up and reachable from here."


def _origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL: what a connection goes to (never credentials or a query)."""
    parts = urlsplit(url)
    host = f"[{parts.hostname}]" if parts.hostname and ":" in parts.hostname else parts.hostname
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}"


def _reason_of(error: APIConnectionError) -> str:
    return _reason(error.__cause__) if error.__cause__ is not None else error.message


def error_from_response(
    response: requests.Response, *, method: str, retry_after: float | None = None
) -> APIStatusError:
    """The typed error for an error answer, with its JSON body (redacted) and a clear message."""
    body = _body_of(response)
    detail = _detail(body)
    message = f"{method} {_path(response.url or '')} answered {response.status_code}"
    if detail:
        message += f": {detail}"
    if response.status_code == 429 and retry_after is not None:
        message += f" (Retry-After {retry_after:g} s)"
    error = error_for_status(response.status_code, redact(message), body=redact(body), retry_after=retry_after)
    if isinstance(error, RateLimitError | APIStatusError):
        error.response = None  # keep no live connection or request headers on the exception
        error.request = None
    return error


def _body_of(response: requests.Response) -> Any:
    try:
        text = response.text
    except (requests.RequestException, ScriptixError):
        return None
    if not text:
        return None
    try:
        return response.json()
    except ValueError:
        return {"error": text[:500]}


def _detail(body: Any) -> str:
    if isinstance(body, dict):
        for key in ("error", "message", "error_description", "detail", "error_message", "err"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value[:300]
            if isinstance(value, dict):
                inner = value.get("message")
                if isinstance(inner, str):
                    return inner[:300]
    return ""


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{':' + str(parts.port) if parts.port else ''}{parts.path}"


def _reason(exc: BaseException) -> str:
    text = str(exc)
    for marker in (
        "Connection refused",
        "Connection reset",
        "Connection aborted",
        "Name or service not known",
        "RemoteDisconnected",
        "BrokenPipe",
        "Broken pipe",
    ):
        if marker in text:
            return marker
    return type(exc).__name__


def _plain(exc: BaseException) -> BaseException:
    """Drop the live request from a requests exception before chaining it (no headers kept)."""
    if isinstance(exc, requests.RequestException):
        exc.request = None
        exc.response = None
    return exc
