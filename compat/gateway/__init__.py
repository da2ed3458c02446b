"""``scriptix-compat gateway``: a local HTTP server that speaks V1, for legacy code in any language.

Point a legacy integration's base URL at the gateway and change nothing else. V1 calls (create a
session, PUT the media, ``/align``, ``GET …/result``, ``DELETE …/{id}``) are served by the one
translator (:mod:`compat.frontdoor.batch_v1`), with each caller's own token; every other path is proxied to
the upstream unchanged. The gateway holds no token of its own.

Public names:

* :func:`make_app` — the WSGI application (:class:`GatewayApp`), for any WSGI server;
* :func:`serve` — run it with hypercorn until SIGTERM/SIGINT (in one process or several), then
  stop gracefully;
* :class:`GatewayServer` — the same in a background thread on a free port (tests, embedding);
* :class:`ServerOptions` — the server's processes, timeouts and limits against slow clients.

Request bodies stream: the application reads each body as it arrives (nothing is spooled to disk).

Operations: ``/_gateway/health`` (liveness), ``/_gateway/ready`` (store and upstream,
:mod:`~compat.gateway.readiness`), ``/_gateway/metrics`` (Prometheus with the ``metrics`` extra,
:mod:`~compat.gateway.metrics`), the access log in text or JSON (:mod:`~compat.gateway.access_log`).

Modules: :mod:`~compat.gateway.app` (routing, V1 calls, the endpoints above),
:mod:`~compat.gateway.proxy` (everything else), :mod:`~compat.gateway.server` (hypercorn, one
process or several, graceful shutdown), :mod:`~compat.gateway.bridge` (ASGI to WSGI with a
streaming body, per-client and in-flight limits, body timeouts), :mod:`~compat.gateway.supervisor`
(worker processes), :mod:`~compat.gateway.server_options` (the options),
:mod:`~compat.gateway.http` (WSGI helpers).
"""

from compat.gateway.app import (
    ACCESS_LOGGER,
    DEFAULT_WORKERS,
    HEALTH_PATH,
    METRICS_PATH,
    READY_PATH,
    GatewayApp,
    make_app,
)
from compat.gateway.server import GatewayServer, serve
from compat.gateway.server_options import (
    DEFAULT_DRAIN_TIMEOUT,
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_MAX_BODY,
    DEFAULT_MAX_HEADER,
    ServerOptions,
)

__all__ = [
    "ACCESS_LOGGER",
    "DEFAULT_DRAIN_TIMEOUT",
    "DEFAULT_HEADER_TIMEOUT",
    "DEFAULT_MAX_BODY",
    "DEFAULT_MAX_HEADER",
    "DEFAULT_WORKERS",
    "HEALTH_PATH",
    "METRICS_PATH",
    "READY_PATH",
    "GatewayApp",
    "GatewayServer",
    "ServerOptions",
    "make_app",
    "serve",
]
