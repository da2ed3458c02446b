"""``scriptix-compat gateway``: a local HTTP server that speaks V1, for legacy code in any language.

Point a legacy integration's base URL at the gateway and change nothing else. V1 calls (create a
session, PUT the media, ``/align``, ``GET …/result``, ``DELETE …/{id}``) are served by the one
translator (:mod:`compat.frontdoor.batch_v1`), with each caller's own token; every other path is proxied to
the upstream unchanged. The gateway holds no token of its own.

Public names:

* :func:`make_app` — the WSGI application (:class:`GatewayApp`), for any WSGI server;
* :func:`serve` — run it with waitress until SIGTERM/SIGINT, then stop gracefully;
* :class:`GatewayServer` — the same in a background thread on a free port (tests, embedding).

Modules: :mod:`~compat.gateway.app` (routing, V1 calls, health, access log),
:mod:`~compat.gateway.proxy` (everything else), :mod:`~compat.gateway.server` (waitress settings,
graceful shutdown), :mod:`~compat.gateway.http` (WSGI helpers).
"""

from compat.gateway.app import ACCESS_LOGGER, DEFAULT_WORKERS, HEALTH_PATH, GatewayApp, make_app
from compat.gateway.server import (
    DEFAULT_CHANNEL_TIMEOUT,
    DEFAULT_DRAIN_TIMEOUT,
    DEFAULT_MAX_BODY,
    DEFAULT_MAX_HEADER,
    GatewayServer,
    serve,
    waitress_settings,
)

__all__ = [
    "ACCESS_LOGGER",
    "DEFAULT_CHANNEL_TIMEOUT",
    "DEFAULT_DRAIN_TIMEOUT",
    "DEFAULT_MAX_BODY",
    "DEFAULT_MAX_HEADER",
    "DEFAULT_WORKERS",
    "HEALTH_PATH",
    "GatewayApp",
    "GatewayServer",
    "make_app",
    "serve",
    "waitress_settings",
]
