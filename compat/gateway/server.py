"""Serving the gateway with waitress, and stopping it without dropping work.

The waitress settings (:func:`waitress_settings`) are chosen for a media gateway:

* request bodies above ``inbuf_overflow`` (512 KiB) are spooled by waitress to a temporary file
  before the application runs, and that file is what ``wsgi.input`` is: an upload is read in place
  (no second copy) and memory stays flat whatever the file size;
* bodies up to ``max_request_body_size`` (10 GB, Scriptix's own upload limit) are accepted, larger
  ones get waitress's 413; request headers are capped at 64 KiB (waitress answers 431);
* the socket is read 256 KiB at a time (waitress's default of 8 KiB made a 1 GiB PUT about 1.7
  times slower in ``bench/gateway_rss.py``);
* a connection idle for ``channel_timeout`` seconds is closed (a request being served is never
  cut by it);
* ``X-Forwarded-*`` headers are passed on as sent (waitress would otherwise drop them);
* ``poll()`` instead of ``select()``, so more than 1024 sockets are no problem.

Shutdown (``stop()``, SIGTERM or SIGINT): the listening socket is closed at once (new connections
are refused) and the health endpoint turns 503; requests in flight — a body still arriving, a
translator call, an answer still being sent — run to their end while idle keep-alive connections
are closed; then background ``media_source`` transfers are waited for. All of it is bounded by
``drain_timeout``; whatever is cut off by it resumes later (a ``media_source`` job on its owner's
next call, an interrupted PUT when the caller repeats it). A second signal stops waiting.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

import waitress  # type: ignore[import-untyped]
from typing_extensions import Unpack
from waitress import wasyncore

from compat.config import MEMORY_STORE, Settings
from compat.gateway.app import DEFAULT_WORKERS, GatewayApp, make_app
from compat.options import OptionOverrides
from compat.redact import install_log_filter

__all__ = [
    "DEFAULT_CHANNEL_TIMEOUT",
    "DEFAULT_DRAIN_TIMEOUT",
    "DEFAULT_MAX_BODY",
    "DEFAULT_MAX_HEADER",
    "GatewayServer",
    "serve",
    "waitress_settings",
]

DEFAULT_MAX_BODY = 10 * 1000**3
DEFAULT_MAX_HEADER = 64 * 1024
DEFAULT_CHANNEL_TIMEOUT = 120.0
DEFAULT_DRAIN_TIMEOUT = 300.0
_LOOP_TIMEOUT = 0.5  # the longest a stop request waits for the event loop (a trigger usually wakes it at once)
_DRAIN_TICK = 0.05

log = logging.getLogger("compat.gateway")
install_log_filter(log)


def waitress_settings(
    *,
    workers: int = DEFAULT_WORKERS,
    max_request_body_size: int = DEFAULT_MAX_BODY,
    channel_timeout: float = DEFAULT_CHANNEL_TIMEOUT,
) -> dict[str, Any]:
    """The waitress adjustments the gateway runs with (the module docstring says why)."""
    return {
        "threads": workers,
        "connection_limit": max(100, 4 * workers),
        "max_request_header_size": DEFAULT_MAX_HEADER,
        # waitress refuses a body of exactly its limit (it compares with >=): the option is inclusive.
        "max_request_body_size": max_request_body_size + 1,
        "inbuf_overflow": 512 * 1024,
        "recv_bytes": 256 * 1024,
        "outbuf_overflow": 1024 * 1024,
        "outbuf_high_watermark": 16 * 1024 * 1024,
        "channel_timeout": channel_timeout,
        "clear_untrusted_proxy_headers": False,
        "asyncore_use_poll": True,
        "expose_tracebacks": False,
        "ident": "scriptix-compat-gateway",
    }


class _Runner:
    """One waitress server and its event loop, with the graceful stop described above."""

    def __init__(
        self,
        app: GatewayApp,
        host: str,
        port: int,
        *,
        workers: int,
        max_request_body_size: int,
        channel_timeout: float,
        drain_timeout: float,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        if drain_timeout < 0:
            raise ValueError("drain_timeout must not be negative")
        self.app = app
        self.drain_timeout = drain_timeout
        self.server = waitress.create_server(
            app,
            host=host,
            port=port,
            **waitress_settings(
                workers=workers, max_request_body_size=max_request_body_size, channel_timeout=channel_timeout
            ),
        )
        self.stopping = threading.Event()
        self.reason = ""
        self._force = threading.Event()
        self._closed = False

    @property
    def url(self) -> str:
        host, port = str(self.server.effective_host), int(self.server.effective_port)
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def stop(self, *, force: bool = False, reason: str = "stop()") -> None:
        """Ask the loop to stop (safe from a signal handler and from any thread: it only sets flags)."""
        if force:
            self._force.set()
        if not self.stopping.is_set():
            self.reason = reason
        self.stopping.set()
        with contextlib.suppress(OSError, ValueError, AttributeError):
            self.server.pull_trigger()  # fails only once the loop has closed its trigger: it is stopping anyway

    def run(self) -> bool:
        """Serve until :meth:`stop`; then drain. True when nothing in flight was cut off."""
        try:
            while not self.stopping.is_set():
                wasyncore.loop(timeout=_LOOP_TIMEOUT, map=self.server._map, use_poll=True, count=1)
            return self._drain()
        finally:
            self.close()

    def _drain(self) -> bool:
        server = self.server
        deadline = time.monotonic() + self.drain_timeout
        self.app.draining = True
        wasyncore.dispatcher.close(server)  # stop listening; the trigger stays for the loop below
        log.info("%s: stopping gracefully (new connections are refused)", self.reason)
        clean = True
        announced = False
        while True:
            busy = 0
            for channel in list(server.active_channels.values()):
                if _busy(channel):
                    busy += 1
                else:
                    channel.will_close = True  # an idle keep-alive connection: closed on the next turn
            if not busy:
                break
            if not announced:
                log.info("stopping: waiting up to %.0f s for %d request(s) in flight", self.drain_timeout, busy)
                announced = True
            if self._force.is_set() or time.monotonic() >= deadline:
                why = "a second signal" if self._force.is_set() else "the drain timeout"
                log.warning("stopping: %d request(s) still in flight are cut off by %s", busy, why)
                clean = False
                break
            server.maintenance(time.time())  # channel_timeout still applies to a stalled sender
            wasyncore.loop(timeout=_DRAIN_TICK, map=server._map, use_poll=True, count=1)
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=max(0.0, deadline - time.monotonic()))
        if not self._force.is_set():
            finished = self.app.translator.wait_for_transfers(max(0.0, deadline - time.monotonic()))
            if not finished:
                log.warning(
                    "stopping: media_source transfers still running; each resumes on its owner's next call"
                    " after a restart on the same store"
                )
                clean = False
        return clean

    def close(self) -> None:
        """Close every connection, the listening socket and the application (idempotent)."""
        if self._closed:
            return
        self._closed = True
        for channel in list(self.server.active_channels.values()):
            channel.handle_close()
        self.server.close()
        self.app.close()


def _busy(channel: Any) -> bool:
    """A channel with a request arriving, being served, or an answer still to send."""
    return bool(
        channel.requests or channel.request is not None or channel.total_outbufs_len or channel.close_when_flushed
    )


def serve(
    upstream: str,
    *,
    options: Settings | None = None,
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int = DEFAULT_WORKERS,
    drain_timeout: float = DEFAULT_DRAIN_TIMEOUT,
    max_request_body_size: int = DEFAULT_MAX_BODY,
    channel_timeout: float = DEFAULT_CHANNEL_TIMEOUT,
    on_ready: Callable[[str], None] | None = None,
    **overrides: Unpack[OptionOverrides],
) -> bool:
    """Serve the gateway on ``host:port`` until SIGTERM or SIGINT, then stop gracefully.

    ``workers`` is the number of waitress threads (requests served at once). ``on_ready(url)`` is
    called once the socket listens (``port=0`` picks a free port). ``options`` and the keyword
    ``overrides`` are those of :func:`compat.gateway.make_app`. Returns True when the shutdown cut
    nothing off. Signal handlers are installed only when called from the main thread (and restored
    on return).
    """
    app = make_app(upstream, options=options, workers=workers, **overrides)
    try:
        runner = _Runner(
            app,
            host,
            port,
            workers=workers,
            max_request_body_size=max_request_body_size,
            channel_timeout=channel_timeout,
            drain_timeout=drain_timeout,
        )
    except BaseException:
        app.close()
        raise

    def on_signal(signum: int, frame: FrameType | None) -> None:
        runner.stop(force=runner.stopping.is_set(), reason=signal.Signals(signum).name)

    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for stop_signal in (signal.SIGTERM, signal.SIGINT):
            previous[stop_signal] = signal.signal(stop_signal, on_signal)
    try:
        log.info("listening on %s; upstream %s; %d workers", runner.url, app.upstream, workers)
        if on_ready is not None:
            on_ready(runner.url)
        clean = runner.run()
        log.info("stopped%s", "" if clean else " (work was cut off; see above)")
        return clean
    finally:
        runner.close()
        for stop_signal, handler in previous.items():
            signal.signal(stop_signal, handler)


class GatewayServer:
    """The gateway in a background thread on a free loopback port: for tests and embedding.

    >>> with GatewayServer("http://127.0.0.1:8480", store=":memory:") as gateway:  # doctest: +SKIP
    ...     requests.get(gateway.url + "/_gateway/health").json()["status"]
    'ok'

    The socket listens as soon as the object exists; :meth:`start` runs the loop; :meth:`stop`
    shuts down gracefully (as SIGTERM does for :func:`serve`) and waits for it.
    """

    def __init__(
        self,
        upstream: str,
        *,
        options: Settings | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        workers: int = DEFAULT_WORKERS,
        drain_timeout: float = 30.0,
        max_request_body_size: int = DEFAULT_MAX_BODY,
        channel_timeout: float = DEFAULT_CHANNEL_TIMEOUT,
        **overrides: Unpack[OptionOverrides],
    ) -> None:
        if options is None:
            overrides.setdefault("store", MEMORY_STORE)  # a test gateway keeps nothing unless told to
        self.app = make_app(upstream, options=options, workers=workers, **overrides)
        try:
            self._runner = _Runner(
                self.app,
                host,
                port,
                workers=workers,
                max_request_body_size=max_request_body_size,
                channel_timeout=channel_timeout,
                drain_timeout=drain_timeout,
            )
        except BaseException:
            self.app.close()
            raise
        self._thread: threading.Thread | None = None
        self.clean: bool | None = None
        """After :meth:`stop`: whether the shutdown cut nothing off."""

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return self._runner.url

    def start(self) -> GatewayServer:
        """Run the event loop in a daemon thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="scriptix-compat-gateway", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        self.clean = self._runner.run()

    def stop(self, timeout: float | None = None) -> None:
        """Stop gracefully and wait (up to ``timeout`` seconds more than the drain timeout)."""
        if self._thread is None:
            self._runner.close()
            return
        self._runner.stop()
        self._thread.join(None if timeout is None else self._runner.drain_timeout + timeout)

    def __enter__(self) -> GatewayServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
