"""The gateway's Prometheus metrics, served at ``/_gateway/metrics`` (extra ``scriptix-compat[metrics]``).

One :class:`GatewayMetrics` per process (:func:`process_metrics`), made on the first gateway
application and hooked up then: it is the process's :class:`compat.telemetry.Sink` (upstream errors
and retries, upload bytes and durations, transfers in flight) and a :mod:`compat.hooks` observer
(legacy calls by operation); the application reports each request (operation and status) itself.

Labels are names from fixed sets only (the V1 operation, a status code, a kind): never a path, a
session id, a token or an option value.

Several worker processes (``serve(workers=N)``) aggregate through prometheus_client's multiprocess
mode: :func:`multiprocess_directory` makes a private temporary directory, sets
``PROMETHEUS_MULTIPROC_DIR`` to it before prometheus_client is first imported (so the parent and the
workers it forks write their values there), and removes it when the gateway stops;
:func:`process_ended` drops a dead worker's live gauges. Any worker answering ``/_gateway/metrics``
then reports the sum of all of them. A ``PROMETHEUS_MULTIPROC_DIR`` already set is used as it is
(and left in place).

prometheus_client is imported lazily, on first use: without it the gateway runs and
``/_gateway/metrics`` answers 501 saying what to install.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator
from typing import get_args

from compat import hooks, telemetry
from compat.hooks import CallSite

__all__ = [
    "MISSING",
    "GatewayMetrics",
    "multiprocess_directory",
    "process_ended",
    "process_metrics",
]

MISSING = "metrics need prometheus-client: pip install 'scriptix-compat[metrics]'"
"""Why there are no metrics, when prometheus-client is not installed."""

_MULTIPROC = "PROMETHEUS_MULTIPROC_DIR"
_UPLOAD_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)

log = logging.getLogger("compat.gateway")

_lock = threading.Lock()
_instance: GatewayMetrics | None = None


class GatewayMetrics(telemetry.Sink):
    """The gateway's metrics in a registry of their own (never the global one); see the module docstring."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        registry = self.registry

        def counter(name: str, documentation: str, *labels: str) -> Counter:
            return Counter(f"scriptix_compat_{name}", documentation, labels, registry=registry)

        self.requests = counter(
            "requests",
            "Requests answered by the gateway, by operation (the legacy call's name, or proxy, gateway_*) and status",
            "operation",
            "status",
        )
        self.request_seconds = Histogram(
            "scriptix_compat_request_duration_seconds",
            "Seconds from a request's arrival to the end of its answer, by operation",
            ["operation"],
            registry=registry,
        )
        self.legacy_calls = counter(
            "legacy_calls",
            "Legacy calls served, by operation (as the staging toolkit names them) and surface",
            "operation",
            "via",
        )
        self.upload_bytes_total = counter("upload_bytes", "Media bytes the upstream confirmed (TUS)")
        self.upload_seconds = Histogram(
            "scriptix_compat_upload_duration_seconds",
            "Seconds each TUS upload took, by outcome (ok, error, cancelled)",
            ["outcome"],
            buckets=_UPLOAD_BUCKETS,
            registry=registry,
        )
        self.in_flight = Gauge(
            "scriptix_compat_transfers_in_flight",
            "Transfers running now, by kind: upload (a V1 PUT), media_source (a job), align",
            ["kind"],
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.upstream_errors = counter(
            "upstream_errors",
            "Upstream attempts that failed, by kind (timeout, connection, status_429, status_5xx)",
            "kind",
        )
        self.upstream_retries = counter(
            "upstream_retries",
            "Retries after a failed upstream attempt: request (the transport's), upload (a TUS resume)",
            "kind",
        )
        # every series present at 0 from the start: a dashboard's rate() sees the first event
        for transfer in get_args(telemetry.TransferKind):
            self.in_flight.labels(transfer)
        for error in get_args(telemetry.UpstreamErrorKind):
            self.upstream_errors.labels(error)
        for retry in get_args(telemetry.RetryKind):
            self.upstream_retries.labels(retry)

    # the application's own -----------------------------------------------------------------

    def request(self, operation: str, status: int, seconds: float) -> None:
        """One request answered."""
        self.requests.labels(operation, str(status)).inc()
        self.request_seconds.labels(operation).observe(seconds)

    def legacy_call(self, operation: str, site: CallSite, via: str) -> None:
        """The :mod:`compat.hooks` observer: one legacy call (never refused here)."""
        self.legacy_calls.labels(operation, via).inc()

    def exposition(self) -> tuple[bytes, str]:
        """The metrics in Prometheus' text format, and its content type: this process's, or with
        multiprocess mode on, every process's summed."""
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        if os.environ.get(_MULTIPROC):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    # compat.telemetry.Sink -----------------------------------------------------------------

    def upstream_error(self, kind: telemetry.UpstreamErrorKind) -> None:
        self.upstream_errors.labels(kind).inc()

    def upstream_retry(self, kind: telemetry.RetryKind) -> None:
        self.upstream_retries.labels(kind).inc()

    def upload_bytes(self, count: int) -> None:
        self.upload_bytes_total.inc(count)

    def upload_finished(self, seconds: float, outcome: telemetry.Outcome) -> None:
        self.upload_seconds.labels(outcome).observe(seconds)

    def transfer_started(self, kind: telemetry.TransferKind) -> None:
        self.in_flight.labels(kind).inc()

    def transfer_ended(self, kind: telemetry.TransferKind) -> None:
        self.in_flight.labels(kind).dec()


def available() -> bool:
    """Whether prometheus-client is installed (without importing it)."""
    return importlib.util.find_spec("prometheus_client") is not None


def process_metrics() -> GatewayMetrics | None:
    """This process's metrics, made and hooked up on the first call; ``None`` without prometheus-client."""
    global _instance
    with _lock:
        if _instance is None and available():
            _instance = GatewayMetrics()
            telemetry.add_sink(_instance)
            hooks.add_observer(_instance.legacy_call)
        return _instance


@contextlib.contextmanager
def multiprocess_directory() -> Iterator[str | None]:
    """``PROMETHEUS_MULTIPROC_DIR`` for the worker processes of one gateway: a private temporary
    directory made here and removed on exit (``None``: metrics stay per process, as without
    prometheus-client, or when it was imported before this could set the variable)."""
    given = os.environ.get(_MULTIPROC)
    if given:
        yield given  # the operator's own: used as it is, left in place
        return
    if not available():
        yield None
        return
    if "prometheus_client" in sys.modules:
        log.warning(
            "prometheus_client was imported before the gateway started its workers: each worker's"
            " /_gateway/metrics reports its own process only (set %s before starting to aggregate)",
            _MULTIPROC,
        )
        yield None
        return
    path = tempfile.mkdtemp(prefix="scriptix-compat-metrics-")
    os.environ[_MULTIPROC] = path
    try:
        yield path
    finally:
        os.environ.pop(_MULTIPROC, None)
        shutil.rmtree(path, ignore_errors=True)


def process_ended(pid: int) -> None:
    """A worker process ``pid`` exited: drop its live gauges (its counters stay in the sums)."""
    if not os.environ.get(_MULTIPROC) or "prometheus_client" not in sys.modules:
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
