"""The gateway server's own options: processes, timeouts and the limits that keep slow clients out.

Every limit is an option with a default meant for production (the README's gateway section has the
table). They belong to the server, not to the V1 translation: :func:`compat.gateway.serve` and
:class:`compat.gateway.GatewayServer` take each one as a keyword (or a whole :class:`ServerOptions`).

The per-process limits (``per_client``, ``max_inflight``) count in each worker process: with
``workers=N`` the gateway as a whole admits up to N times as many.

:class:`GatewayOverrides` is the static type of ``serve()``'s and ``GatewayServer``'s
``**overrides``: the options of :class:`compat.options.OptionOverrides` plus these.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from typing_extensions import TypedDict

from compat.errors import ConfigurationError
from compat.options import OptionOverrides

__all__ = [
    "DEFAULT_DRAIN_TIMEOUT",
    "DEFAULT_HEADER_TIMEOUT",
    "DEFAULT_MAX_BODY",
    "DEFAULT_MAX_HEADER",
    "LEGACY_NAMES",
    "GatewayOverrides",
    "ServerOptions",
    "ServerOverrides",
    "split_server_options",
]

DEFAULT_MAX_BODY = 10 * 1000**3
DEFAULT_MAX_HEADER = 64 * 1024
DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_DRAIN_TIMEOUT = 300.0

# Keywords of the waitress-based gateway, still accepted: old name -> option.
LEGACY_NAMES = {"max_request_body_size": "max_body_size", "channel_timeout": "header_timeout"}


@dataclass(frozen=True)
class ServerOptions:
    """How the gateway serves HTTP. Times are seconds, sizes bytes, rates bytes per second.

    Attributes:
        workers: worker processes sharing the listening socket (``serve`` only; >1 needs a store every
            process shares, not ``":memory:"``).
        drain_timeout: on SIGTERM/SIGINT or ``stop()``, how long requests in flight and ``media_source``
            transfers may run on.
        header_timeout: a connection must deliver a complete request head within this long of opening
            (or of its previous answer); a connection that sends nothing, or trickles its head, is
            closed then. Also the keep-alive idle time.
        max_header_size: the request line and headers together (431 beyond).
        max_body_size: the largest request body: 413 at once when ``Content-Length`` says more, and
            when a chunked body grows past it.
        body_idle_timeout: no body bytes for this long while the application waits for them: 408.
        min_body_rate: a body arriving slower than this (bytes received over the time spent waiting
            for them, judged once ``min_rate_grace`` seconds of waiting have passed): 408. 0 turns it off.
        min_rate_grace: see ``min_body_rate``.
        per_client: requests in flight per client address in each worker (429 beyond); 0 turns it off.
        max_inflight: requests in flight in each worker (503 beyond): each has a thread of its own.
        send_timeout: the longest one block of an answer may wait for a client that does not read it.
        backlog: the listening socket's queue of connections not yet accepted.
    """

    workers: int = 1
    drain_timeout: float = DEFAULT_DRAIN_TIMEOUT
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    max_header_size: int = DEFAULT_MAX_HEADER
    max_body_size: int = DEFAULT_MAX_BODY
    body_idle_timeout: float = 60.0
    min_body_rate: float = 1024.0
    min_rate_grace: float = 10.0
    per_client: int = 32
    max_inflight: int = 64
    send_timeout: float = 60.0
    backlog: int = 1024

    def __post_init__(self) -> None:
        at_least_one = ("workers", "max_header_size", "max_inflight", "backlog")
        for name in at_least_one:
            _check(name, getattr(self, name), minimum=1, integer=True)
        _check("max_body_size", self.max_body_size, minimum=0, integer=True)
        _check("per_client", self.per_client, minimum=0, integer=True)
        for name in ("header_timeout", "body_idle_timeout", "send_timeout"):
            _check(name, getattr(self, name), minimum=0, exclusive=True)
        for name in ("drain_timeout", "min_body_rate", "min_rate_grace"):
            _check(name, getattr(self, name), minimum=0)

    def with_overrides(self, **overrides: Any) -> ServerOptions:
        """A copy with some options changed (the old waitress keywords are accepted too)."""
        return replace(self, **{LEGACY_NAMES.get(name, name): value for name, value in overrides.items()})


class ServerOverrides(TypedDict, total=False):
    """The fields of :class:`ServerOptions` as keywords (and the old waitress names). A test checks the keys."""

    workers: int
    drain_timeout: float
    header_timeout: float
    max_header_size: int
    max_body_size: int
    body_idle_timeout: float
    min_body_rate: float
    min_rate_grace: float
    per_client: int
    max_inflight: int
    send_timeout: float
    backlog: int
    max_request_body_size: int
    channel_timeout: float


class GatewayOverrides(OptionOverrides, ServerOverrides, total=False):
    """``serve()``'s and ``GatewayServer``'s ``**overrides``: the options, and the server's own."""


_NAMES = frozenset(f.name for f in fields(ServerOptions)) | frozenset(LEGACY_NAMES)


def split_server_options(options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``options`` split into the server's own (see :class:`ServerOptions`) and the application's."""
    server = {name: value for name, value in options.items() if name in _NAMES}
    app = {name: value for name, value in options.items() if name not in _NAMES}
    return server, app


def _check(name: str, value: Any, *, minimum: float, integer: bool = False, exclusive: bool = False) -> None:
    kind = int if integer else (int, float)
    ok = isinstance(value, kind) and not isinstance(value, bool)
    if ok and not integer:
        ok = math.isfinite(value)
    if ok:
        ok = value > minimum if exclusive else value >= minimum
    if not ok:
        bound = f"more than {minimum:g}" if exclusive else f"at least {minimum:g}"
        what = "an integer" if integer else "a number"
        raise ConfigurationError(f"{name} must be {what}, {bound} (got {value!r})", option=name)
