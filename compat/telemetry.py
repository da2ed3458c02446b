"""What the shim's core reports about its work, for metrics: one sink interface and no dependency.

The core calls the functions here as it works: the transport for each upstream attempt that failed
and each retry (:func:`upstream_error`, :func:`upstream_retry`), the TUS uploader for the bytes the
server confirmed and each upload's end (:func:`upload_bytes`, :func:`upload_finished`), the
transfer registry as uploads and ``media_source`` jobs start and end (:func:`transfer_started`,
:func:`transfer_ended`). Each event goes to every :class:`Sink` added with :func:`add_sink`; with
none (the default) an event costs one empty loop.

A sink is told kinds, counts and seconds only: never a token, a URL, a session id or an option
value, so whatever it exports holds no secret. A sink's exception is swallowed (metrics never break
a call). The gateway's Prometheus metrics (:mod:`compat.gateway.metrics`) are one such sink; this
module imports only :mod:`compat.listeners`, so the core never depends on them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Literal

from compat.listeners import Listeners

__all__ = [
    "Outcome",
    "RetryKind",
    "Sink",
    "TransferKind",
    "UpstreamErrorKind",
    "add_sink",
    "remove_sink",
    "sinks",
    "transfer_ended",
    "transfer_started",
    "upload_bytes",
    "upload_finished",
    "upstream_error",
    "upstream_retry",
    "upstream_status",
]

UpstreamErrorKind = Literal["timeout", "connection", "status_429", "status_5xx"]
"""Why an upstream attempt failed: no answer in time, no connection, a 429, or a 5xx status."""
RetryKind = Literal["request", "upload"]
"""What is tried again: one HTTP request (the transport's rules), or a TUS upload resumed after a failure."""
Outcome = Literal["ok", "error", "cancelled"]
"""How an upload ended."""
TransferKind = Literal["upload", "media_source", "align"]
"""A transfer in flight (see :mod:`compat.transfers`)."""

log = logging.getLogger("compat.telemetry")


class Sink:
    """Receives the core's events; every method does nothing here: override those you count."""

    def upstream_error(self, kind: UpstreamErrorKind) -> None:
        """An attempt to reach the upstream failed (it may be retried)."""

    def upstream_retry(self, kind: RetryKind) -> None:
        """A failed attempt is about to be made again."""

    def upload_bytes(self, count: int) -> None:
        """The upstream confirmed ``count`` more bytes of an upload."""

    def upload_finished(self, seconds: float, outcome: Outcome) -> None:
        """A TUS upload ended after ``seconds``."""

    def transfer_started(self, kind: TransferKind) -> None:
        """A transfer began in this process."""

    def transfer_ended(self, kind: TransferKind) -> None:
        """A transfer ended in this process (once for each start)."""


_sinks: Listeners[Sink] = Listeners()

add_sink = _sinks.add
"""Send every event to a sink from now on (once, however often it is added)."""
remove_sink = _sinks.remove
"""Stop sending events to a sink (nothing happens when it was not added)."""
sinks = _sinks.snapshot
"""The sinks events go to, in the order they were added."""


def upstream_error(kind: UpstreamErrorKind) -> None:
    """Report an upstream attempt that failed."""
    for sink in _sinks:
        _safely(sink.upstream_error, kind)


def upstream_status(status: int) -> None:
    """Report an upstream answer's status: a 429 or a 5xx is an error (``status_429``, ``status_5xx``)."""
    if status == 429:
        upstream_error("status_429")
    elif status >= 500:
        upstream_error("status_5xx")


def upstream_retry(kind: RetryKind) -> None:
    """Report a retry."""
    for sink in _sinks:
        _safely(sink.upstream_retry, kind)


def upload_bytes(count: int) -> None:
    """Report bytes the upstream confirmed."""
    if count > 0:
        for sink in _sinks:
            _safely(sink.upload_bytes, count)


def upload_finished(seconds: float, outcome: Outcome) -> None:
    """Report the end of a TUS upload."""
    for sink in _sinks:
        _safely(sink.upload_finished, seconds, outcome)


def transfer_started(kind: TransferKind) -> None:
    """Report a transfer that began."""
    for sink in _sinks:
        _safely(sink.transfer_started, kind)


def transfer_ended(kind: TransferKind) -> None:
    """Report a transfer that ended."""
    for sink in _sinks:
        _safely(sink.transfer_ended, kind)


def _safely(method: Callable[..., None], *args: object) -> None:
    try:
        method(*args)
    except Exception:
        log.debug("a telemetry sink failed", exc_info=True)
