"""The gateway's WSGI application: legacy calls to the translator, everything else to the upstream.

One :class:`GatewayApp` holds one :class:`~compat.V3Client` (no token of its own), one
:class:`~compat.translate.Translator` and one :class:`~compat.gateway.proxy.Proxy`. For each request:

* ``/_gateway/health`` (liveness: the process answers), ``/_gateway/ready`` (readiness: the store
  and the upstream answer, :mod:`~compat.gateway.readiness`) and ``/_gateway/metrics`` (Prometheus,
  :mod:`~compat.gateway.metrics`) are answered here (never proxied);
* a legacy call (as :func:`compat.frontdoor.routes.match` sees it, on the raw path, or on the path
  with its percent-escapes, repeated slashes and dot segments resolved, so no spelling slips a call
  past the translator) is served by its generation's front door with the caller's own token: the
  Batch V1 calls (``/api/v3/…/session``) and the Zoom Media API v1/v2 (``/api/v1|v2/…/session``) side
  by side, the path decides; a refusal or an upstream error is that generation's status and JSON;
  no answer from the upstream is 502 (504 for a timeout);
* anything else is proxied unchanged.

A chunked V1 PUT (no ``Content-Length``) is read ahead up to
:data:`~compat.gateway.http.READAHEAD` bytes first: one that ends there is uploaded with its length
known, one over the body size limit there is refused before anything goes upstream.

A request body the client fails to deliver (the server's ``wsgi.input`` raises a
:class:`~compat.gateway.http.RequestBodyError`: too slow, stalled, over the size limit, or the
client hung up) is answered with that error's status (408, 413, 400) and a JSON ``error``; an upload
it interrupted is left as a dropped PUT leaves it (resumable by the next PUT of the session). An
unexpected exception is logged (scrubbed of the caller's credentials) and answered 500
``{"error": "Internal error"}``. Every request leaves one line on the ``compat.gateway.access``
logger once its answer has been sent (:mod:`~compat.gateway.access_log`: text or JSON, the
``access_log`` option): client address, method, path without the query string, operation, status,
body bytes and seconds; never headers, never tokens.
"""

from __future__ import annotations

import io
import logging
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from typing_extensions import Unpack

from compat._version import __version__
from compat.config import Settings
from compat.errors import APITimeoutError, ScriptixError, UploadCancelledError
from compat.frontdoor import batch_v1, routes
from compat.frontdoor.http import V1Request, token_of
from compat.gateway import metrics as gateway_metrics
from compat.gateway.access_log import ACCESS_LOGGER, AccessRecord, timestamp
from compat.gateway.access_log import write as write_access
from compat.gateway.http import (
    LimitedInput,
    Reply,
    RequestBodyError,
    body_error,
    error_reply,
    json_reply,
    read_ahead,
    request_target,
    wsgi_headers,
)
from compat.gateway.proxy import Proxy
from compat.gateway.readiness import Readiness
from compat.hooks import on_legacy_call, remote_site
from compat.media import AddressPolicy
from compat.options import OptionOverrides, resolve_options
from compat.redact import REDACTED, install_log_filter, redact
from compat.translate import Translator
from compat.v3.client import V3Client

__all__ = [
    "ACCESS_LOGGER",
    "DEFAULT_WORKERS",
    "HEALTH_PATH",
    "METRICS_PATH",
    "READY_PATH",
    "GatewayApp",
    "make_app",
    "v1_path",
]

HEALTH_PATH = "/_gateway/health"
READY_PATH = "/_gateway/ready"
METRICS_PATH = "/_gateway/metrics"
DEFAULT_WORKERS = 16
_OWN_PREFIX = "/_gateway/"
_NO_TOKEN = "the gateway takes no api_key: each request carries its caller's own token"

log = logging.getLogger("compat.gateway")
install_log_filter(log)

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class GatewayApp:
    """The gateway as a WSGI callable; see the module docstring. Build it with :func:`make_app`.

    Attributes:
        upstream: the Scriptix base URL every call goes to.
        translator: the one :class:`~compat.translate.Translator` serving the legacy calls.
        draining: set during a graceful shutdown; the health and ready endpoints then answer 503.
        readiness: the checks behind ``/_gateway/ready``.
        metrics: the process's Prometheus metrics (``None`` without prometheus-client).
    """

    def __init__(
        self,
        upstream: str,
        *,
        options: Settings | None = None,
        workers: int = DEFAULT_WORKERS,
        media_policy: AddressPolicy | None = None,
        **overrides: Unpack[OptionOverrides],
    ) -> None:
        self.options, store = resolve_options(options, {**overrides, "base_url": upstream}, no_token=_NO_TOKEN)
        self.v3 = V3Client(settings=self.options, store=store)
        self.upstream = self.v3.settings.base_url
        self.translator = Translator(self.v3, self.options, media_policy=media_policy)
        self.proxy = Proxy(self.upstream, timeout=self.v3.transport.timeout, pool_size=workers)
        self.readiness = Readiness(self.v3.store, self.v3.settings.tus_endpoint)
        self.metrics = gateway_metrics.process_metrics()
        self.draining = False

    def __repr__(self) -> str:
        return f"GatewayApp(upstream={self.upstream!r})"

    def close(self) -> None:
        """Close the connection pools (and the store, when this app opened it)."""
        self.proxy.close()
        self.readiness.close()
        self.translator.close()
        self.v3.close()  # and the store, when the V3Client opened it (no store= given)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.monotonic()
        method = str(environ.get("REQUEST_METHOD") or "GET").upper()
        path, target = request_target(environ)
        headers = wsgi_headers(environ)
        served = _Served(environ, method, path.partition("?")[0], time.time(), started)
        try:
            reply = self._route(environ, method, path, target, headers, served)
        except Exception as exc:  # the last line of defence: bad input is refused long before this
            failed = body_error(exc)
            if failed is not None:
                reply = _body_failed(failed, method, path)
            else:
                reply = self._internal_error(exc, method, path, headers)
        start_response(reply.status_line(), reply.headers)
        return _Logged(reply, served, self)

    # routing ------------------------------------------------------------------------------

    def _route(
        self,
        environ: dict[str, Any],
        method: str,
        path: str,
        target: str,
        headers: dict[str, str],
        served: _Served,
    ) -> Reply:
        if not path.startswith("/"):
            return error_reply(400, "Bad Request: the request target must be a path")
        if path.startswith(_OWN_PREFIX):
            served.operation = _OWN_OPERATIONS.get(path, "gateway_unknown")
            return self._own(method, path)
        v1 = v1_path(method, path)
        if v1 is not None:
            served.operation = routes.match(method, v1) or "legacy"  # named exactly once the call is read
            return self._v1(environ, method, v1, target.partition("?")[2], headers, served)
        served.operation = "proxy"
        return self.proxy.forward(environ, method, target)

    def _own(self, method: str, path: str) -> Reply:
        if path not in _OWN_OPERATIONS:
            paths = ", ".join(_OWN_OPERATIONS)
            return error_reply(404, f"Not Found: the gateway serves {paths} under {_OWN_PREFIX}")
        if method != "GET":
            return json_reply(405, {"error": "Method Not Allowed: use GET"}, [("Allow", "GET")])
        if path == METRICS_PATH:
            return self._metrics()
        if path == READY_PATH:
            return self._ready()
        status = "draining" if self.draining else "ok"
        return json_reply(
            503 if self.draining else 200, {"status": status, "version": __version__, "upstream": self.upstream}
        )

    def _ready(self) -> Reply:
        if self.draining:
            return json_reply(503, {"status": "draining", "error": "Service Unavailable: the gateway is stopping"})
        ready, body = self.readiness.report()
        return json_reply(200 if ready else 503, body)

    def _metrics(self) -> Reply:
        if self.metrics is None:
            return error_reply(501, f"Not Implemented: {gateway_metrics.MISSING}")
        content, content_type = self.metrics.exposition()
        return Reply(
            status=200,
            headers=[("Content-Type", content_type), ("Content-Length", str(len(content)))],
            body=[content],
        )

    def _v1(
        self,
        environ: dict[str, Any],
        method: str,
        path: str,
        query: str,
        headers: dict[str, str],
        served: _Served,
    ) -> Reply:
        body = _input(environ)
        if body is not None and _chunked_upload(environ, method, path):
            head, rest = read_ahead(body)  # a chunked PUT that ends soon goes up with its length known
            body = io.BytesIO(head) if rest is None else rest
        # A JSON body is parsed here, once; the front door names the call for the staging hook.
        call = routes.prepare(V1Request(method, path, headers, body, query=query))
        served.operation = call.staging_name
        on_legacy_call(call.staging_name, remote_site(str(environ.get("REMOTE_ADDR") or "-")), "gateway")
        try:
            answer = routes.dispatch(self.translator, call)
        except Exception as exc:  # dispatch raises only when no upstream answer came, or the body failed
            failed = body_error(exc)
            if failed is not None:  # the caller's body, not the upstream, is what failed
                return _body_failed(failed, method, path, routes.error_body(call, failed.status, failed.message))
            if not isinstance(exc, ScriptixError):
                raise
            if isinstance(exc, UploadCancelledError):
                message = "Conflict: the upload was cancelled (the session was deleted meanwhile)"
                return json_reply(409, routes.error_body(call, 409, message))
            if isinstance(exc, APITimeoutError):
                return json_reply(504, routes.error_body(call, 504, f"Gateway Timeout: {exc.message}"))
            return json_reply(502, routes.error_body(call, 502, f"Bad Gateway: {exc.message}"))
        content = answer.content()
        answer_headers = {**answer.headers, "Content-Length": str(len(content))}
        return Reply(status=answer.status, headers=list(answer_headers.items()), body=[content])

    def _internal_error(self, exc: BaseException, method: str, path: str, headers: dict[str, str]) -> Reply:
        secrets = [token_of(V1Request(method, path, headers)), headers.get("authorization"), headers.get("cookie")]
        detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        log.error("unexpected error serving %s %s:\n%s", method, path, _scrub(detail, secrets))
        return error_reply(500, "Internal error")


def make_app(
    upstream: str,
    *,
    options: Settings | None = None,
    workers: int = DEFAULT_WORKERS,
    media_policy: AddressPolicy | None = None,
    **overrides: Unpack[OptionOverrides],
) -> GatewayApp:
    """The gateway's WSGI application for ``upstream`` (a Scriptix base URL: the ``base_url`` option).

    ``options`` (a :class:`compat.Options`) and keyword ``overrides`` on top are those of
    :class:`compat.LegacyClient` without ``api_key``: the gateway holds no token, each request
    brings its own. ``store`` keeps the session book and the upload resume state (a path,
    ``":memory:"``, a PostgreSQL URL or an open :class:`~compat.store.Store`); a gateway restarted on the same store
    picks up its ``media_source`` jobs on each owner's next call. ``workers`` sizes the proxy's
    connection pool (one connection per server thread); ``media_policy`` replaces the address rule
    for ``media_source`` URLs (see :class:`~compat.translate.Translator`).
    """
    return GatewayApp(upstream, options=options, workers=workers, media_policy=media_policy, **overrides)


def v1_path(method: str, raw_path: str) -> str | None:
    """The path to serve as a legacy call (Batch V1 or Zoom Media), or ``None`` when the request is not one.

    The raw path is tried first (a session id keeps its escapes, so ``..%2F..%2Fetc`` is refused by
    validation), then its normal form (escapes decoded, ``//`` and dot segments resolved, as an
    upstream would read it), so that ``/api/v3/speech-to-text/%73ession`` is translated, not proxied.
    """
    if routes.match(method, raw_path) is not None:
        return raw_path
    normal = _normal_path(raw_path)
    if normal != raw_path and routes.match(method, normal) is not None:
        return normal
    return None


def _normal_path(raw_path: str) -> str:
    from urllib.parse import unquote

    segments: list[str] = []
    for segment in unquote(raw_path, encoding="latin-1").split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    trailing = "/" if raw_path.endswith("/") and segments else ""
    return "/" + "/".join(segments) + trailing


def _input(environ: dict[str, Any]) -> IO[bytes] | None:
    """``wsgi.input`` as the translator reads it, as the body arrives: bounded by ``CONTENT_LENGTH``
    so that nothing reads past the body; without one, a server that sets ``wsgi.input_terminated``
    (the gateway's own does) ends the stream with the body, so a chunked body is read to its end;
    otherwise there is no body."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return None
    raw = str(environ.get("CONTENT_LENGTH") or "").strip()
    if raw.isdigit():
        return LimitedInput(stream, int(raw))  # type: ignore[return-value]
    if not raw and environ.get("wsgi.input_terminated") is True:
        return stream  # type: ignore[no-any-return]
    return LimitedInput(stream, 0)  # type: ignore[return-value]


def _chunked_upload(environ: dict[str, Any], method: str, path: str) -> bool:
    """A Batch V1 upload (PUT) whose body has no ``Content-Length`` (chunked)."""
    found = batch_v1.match(method, path)
    return found is not None and found[0] == "upload" and not str(environ.get("CONTENT_LENGTH") or "").strip()


def _body_failed(failed: RequestBodyError, method: str, path: str, body: dict[str, Any] | None = None) -> Reply:
    """The client did not deliver its body: its status and message (``body``: in the shape of the
    call's generation), and the connection closes."""
    log.info("%s %s: the request body failed: %s", method, path, failed.message)
    reply = json_reply(failed.status, body or {"error": failed.message})
    reply.headers.append(("Connection", "close"))
    return reply


def _scrub(text: str, secrets: Iterable[str | None]) -> str:
    cleaned = str(redact(text))
    for secret in sorted({s.strip() for s in secrets if s and len(s.strip()) >= 4}, key=len, reverse=True):
        cleaned = cleaned.replace(secret, REDACTED)
    return cleaned


_OWN_OPERATIONS = {HEALTH_PATH: "gateway_health", READY_PATH: "gateway_ready", METRICS_PATH: "gateway_metrics"}


@dataclass(eq=False)
class _Served:
    """What the access log and the metrics tell of one request, gathered as it is served."""

    environ: dict[str, Any]
    method: str
    path: str
    wall: float
    started: float
    operation: str = "invalid"
    """The route's name: the legacy call's staging name, ``proxy``, ``gateway_*`` or ``invalid``."""

    def bytes_in(self) -> int:
        """Request body bytes received: counted by the gateway's own server, else ``Content-Length``."""
        received = getattr(self.environ.get("wsgi.input"), "received", None)
        if isinstance(received, int):
            return received
        raw = str(self.environ.get("CONTENT_LENGTH") or "").strip()
        return int(raw) if raw.isdigit() else 0


class _Logged:
    """The answer's body as the server iterates it; when the server closes it, the request is counted
    in the metrics and its access-log line written."""

    def __init__(self, reply: Reply, served: _Served, app: GatewayApp) -> None:
        self._reply = reply
        self._served = served
        self._app = app
        self._sent = 0
        self._failed = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            for block in self._reply.body:
                self._sent += len(block)
                yield block
        except BaseException:
            self._failed = True
            raise

    def close(self) -> None:
        try:
            closer = getattr(self._reply.body, "close", None)
            if callable(closer):
                closer()
            if self._reply.close is not None:
                self._reply.close()
        finally:
            served = self._served
            seconds = time.monotonic() - served.started
            if self._app.metrics is not None:
                self._app.metrics.request(served.operation, self._reply.status, seconds)
            record = AccessRecord(
                time=timestamp(served.wall),
                client=str(served.environ.get("REMOTE_ADDR") or "-"),
                method=served.method,
                path=served.path,
                operation=served.operation,
                status=self._reply.status,
                duration=round(seconds, 3),
                bytes_in=served.bytes_in(),
                bytes_out=self._sent,
                cut_off=self._failed,
            )
            write_access(record, self._app.options.access_log)
