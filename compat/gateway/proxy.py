"""Everything that is not a V1 call goes to the upstream as it came, and its answer comes back as it went.

The request keeps its method, raw path and query string (no re-quoting, no dot-segment removal) and
every header but the hop-by-hop ones (``Connection`` and the headers it names, ``Keep-Alive``,
``TE``, ``Trailer``, ``Transfer-Encoding``, ``Upgrade``, ``Proxy-*``), ``Host`` (the upstream's
own) and ``Expect`` (the gateway has already read the body). The caller's token travels as the
caller sent it. Nothing is added: no ``User-Agent``, no ``Accept-Encoding``, no cookies (requests are
sent through a bare adapter, never a ``requests.Session`` with a cookie jar shared between callers).

Bodies stream both ways in blocks: the request body from ``wsgi.input`` with its exact length as it
arrives, the answer with ``stream=True`` and no decoding (a gzip answer stays gzip, so
``Content-Encoding`` and ``Content-Length`` stay true). A chunked request body is read ahead up to
``READAHEAD`` bytes before the upstream is called: one that ends within it goes with its
``Content-Length`` (not every upstream takes a chunked request) and one over the body size limit
within it is refused (413) with nothing sent; a longer one goes on chunked, as it arrives. Redirects
are passed back, never followed. An upstream that does not answer is a 502 (504 for a timeout)
with a JSON ``error``; a caller whose body fails on the way (too slow, too large, gone) gets its
own error (see :class:`~compat.gateway.http.RequestBodyError`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from http import HTTPStatus
from typing import IO, Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.util import SKIP_HEADER

from compat import telemetry
from compat.gateway.http import (
    READAHEAD,
    LimitedInput,
    Reply,
    RequestBodyError,
    error_reply,
    header_name,
    read_ahead,
    wsgi_headers,
)
from compat.redact import QueryRedactingFilter, install_log_filter

__all__ = ["HOP_BY_HOP", "Proxy"]

log = logging.getLogger("compat.gateway")
install_log_filter(log)
# urllib3 logs each proxied request line, query string included, at DEBUG: keep callers' secrets out.
_urllib3_log = logging.getLogger("urllib3.connectionpool")
install_log_filter(_urllib3_log)
if not any(isinstance(f, QueryRedactingFilter) for f in _urllib3_log.filters):
    _urllib3_log.addFilter(QueryRedactingFilter())

# RFC 9110 section 7.6.1, plus the de-facto Proxy-Connection.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
_NOT_FORWARDED = HOP_BY_HOP | {"host", "expect", "content-length"}
# Headers urllib3 / http.client would add on their own unless told to skip them.
_SKIPPABLE = ("user-agent", "accept-encoding")
BLOCK = 256 * 1024


class _BlockAdapter(HTTPAdapter):
    """An adapter whose connections write streamed bodies in large blocks."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("blocksize", BLOCK)
        super().init_poolmanager(*args, **kwargs)


class Proxy:
    """Forwards requests to ``upstream`` (a base URL: scheme, host, port and optional path prefix)."""

    def __init__(self, upstream: str, *, timeout: tuple[float, float], pool_size: int) -> None:
        self.upstream = upstream.rstrip("/")
        self.timeout = timeout
        self.adapter = _BlockAdapter(pool_connections=1, pool_maxsize=max(1, pool_size), max_retries=0)

    def close(self) -> None:
        self.adapter.close()

    def forward(self, environ: dict[str, Any], method: str, target: str) -> Reply:
        """Send the request to the upstream; ``target`` is the raw path with its query string."""
        headers = forwarded_headers(environ)
        watch = _Watch()
        body = _body(environ, watch)
        try:
            prepared = requests.Request(method, self.upstream + "/", headers=headers, data=body).prepare()
        except (requests.RequestException, ValueError) as exc:
            return error_reply(400, f"Bad Request: {exc}")
        prepared.url = self.upstream + target  # the raw target: requests would re-quote and drop dot segments
        try:
            response = self.adapter.send(prepared, stream=True, timeout=self.timeout)
        except requests.Timeout:
            log.warning("upstream gave no answer in time: %s %s", method, _path_of(target))
            telemetry.upstream_error("timeout")
            return error_reply(504, "Gateway Timeout: the upstream did not answer in time")
        except requests.RequestException as exc:
            if watch.failed is not None:  # the caller's body failed on the way, not the upstream
                raise watch.failed from exc
            log.warning("upstream unreachable: %s %s (%s)", method, _path_of(target), type(exc).__name__)
            telemetry.upstream_error("connection")
            return error_reply(502, "Bad Gateway: the upstream could not be reached")
        telemetry.upstream_status(response.status_code)
        return Reply(
            status=response.status_code,
            reason=_reason(response),
            headers=answer_headers(response),
            body=_stream(response, method, target),
            close=response.close,
        )


def forwarded_headers(environ: dict[str, Any]) -> dict[str, str]:
    """The caller's headers for the upstream: all but hop-by-hop, ``Host``, ``Expect`` and the length."""
    received = wsgi_headers(environ)
    named = {part.strip().lower() for part in received.get("connection", "").split(",") if part.strip()}
    headers = {header_name(name): value for name, value in received.items() if name not in _NOT_FORWARDED | named}
    for name in _SKIPPABLE:
        if name not in received:
            headers[header_name(name)] = SKIP_HEADER  # urllib3: do not add a default of your own
    return headers


def answer_headers(response: requests.Response) -> list[tuple[str, str]]:
    """The upstream's answer headers (repeated ones kept apart), less the hop-by-hop ones."""
    raw: urllib3.HTTPHeaderDict = response.raw.headers
    named = {part.strip().lower() for part in raw.get("Connection", "").split(",") if part.strip()}
    return [(name, value) for name, value in raw.iteritems() if name.lower() not in HOP_BY_HOP | named]


def _stream(response: requests.Response, method: str, target: str) -> Iterator[bytes]:
    try:
        yield from response.raw.stream(BLOCK, decode_content=False)
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        # Re-raised: the server must cut the connection, or a chunked answer would look complete.
        log.warning("upstream stopped in the middle of its answer: %s %s (%s)", method, _path_of(target), exc)
        raise


class _Watch:
    """Remembers why reading the caller's body failed (requests reports it as a connection error)."""

    failed: RequestBodyError | None = None

    def read(self, stream: IO[bytes] | LimitedInput, size: int) -> bytes:
        try:
            return stream.read(size)
        except RequestBodyError as exc:
            self.failed = exc
            raise


class _Sized:
    """A body of known length, read as requests asks."""

    def __init__(self, stream: LimitedInput, watch: _Watch) -> None:
        self._stream = stream
        self._watch = watch

    def __len__(self) -> int:
        return len(self._stream)

    def read(self, size: int = -1) -> bytes:
        return self._watch.read(self._stream, size)


def _body(environ: dict[str, Any], watch: _Watch) -> _Sized | bytes | Iterator[bytes] | None:
    stream = environ["wsgi.input"]
    raw = str(environ.get("CONTENT_LENGTH") or "").strip()
    if raw.isdigit():
        return _Sized(LimitedInput(stream, int(raw)), watch) if int(raw) else None
    if "HTTP_TRANSFER_ENCODING" not in environ or environ.get("wsgi.input_terminated") is not True:
        return None
    body, rest = read_ahead(stream, READAHEAD)
    return body if rest is None else _chunks(rest, watch)


def _chunks(stream: IO[bytes], watch: _Watch) -> Iterator[bytes]:
    while block := watch.read(stream, BLOCK):
        yield block


def _reason(response: requests.Response) -> str:
    reason = "".join(c for c in str(response.reason or "") if c.isprintable()).strip()
    if reason:
        return reason
    try:
        return HTTPStatus(response.status_code).phrase
    except ValueError:
        return "Unknown"


def _path_of(target: str) -> str:
    return target.split("?", 1)[0]
