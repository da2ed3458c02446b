"""Serving the gateway: hypercorn (asyncio) runs the streaming bridge, in one process or several.

The HTTP server is hypercorn, through its documented asyncio API only: ``hypercorn.asyncio.serve``
with a ``shutdown_trigger`` and a ``Config`` whose ``bind`` is an inherited socket (``fd://N``).
It hands the request to :class:`~compat.gateway.bridge.StreamingWSGIBridge`, which runs the WSGI
:class:`~compat.gateway.app.GatewayApp` in a thread per request with a body that streams as it
arrives (nothing is spooled; the README's gateway section compares the servers and says why this one).

What the server defends (every limit is a :class:`~compat.gateway.server_options.ServerOptions`
option): a connection that sends nothing, or trickles its request head, is closed
``header_timeout`` seconds after it opened (hypercorn's ``keep_alive_timeout``), so idle
connections fill nothing; request heads are capped at ``max_header_size`` (431); bodies at
``max_body_size`` (413); a slow or stalled body, the requests in flight per client address and per
worker are the bridge's. ``RLIMIT_NOFILE`` is raised to its hard limit at start-up.

Processes: ``workers=1`` serves in this process; more fork worker processes on one socket under
:class:`~compat.gateway.supervisor.Supervisor` (each builds its own application after the fork;
``store=":memory:"`` is refused, as each process would have a store of its own). Their Prometheus
metrics add up through a private ``PROMETHEUS_MULTIPROC_DIR`` made for the run and removed after it
(:func:`~compat.gateway.metrics.multiprocess_directory`).

Shutdown (``stop()``, SIGTERM or SIGINT): the listening socket is closed at once (new connections
are refused), idle keep-alive connections are closed and the health endpoint turns 503; requests
in flight run to their end, then background ``media_source`` transfers are waited for. All of it
is bounded by ``drain_timeout``; whatever is cut off by it resumes later (a ``media_source`` job on
its owner's next call, an interrupted PUT when the caller repeats it). A second signal stops waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config
from typing_extensions import Unpack

from compat.config import MEMORY_STORE, Settings
from compat.errors import ConfigurationError
from compat.gateway import metrics
from compat.gateway.app import HEALTH_PATH, GatewayApp, make_app
from compat.gateway.bridge import StreamingWSGIBridge
from compat.gateway.server_options import GatewayOverrides, ServerOptions, split_server_options
from compat.gateway.supervisor import Supervisor
from compat.redact import install_log_filter

__all__ = ["GatewayServer", "hypercorn_config", "raise_fd_limit", "serve"]

_CUT_MARGIN = 1.0  # past the drain timeout, when the worker stops waiting whatever hypercorn does

log = logging.getLogger("compat.gateway")
install_log_filter(log)
_server_log = logging.getLogger("compat.gateway.hypercorn")
install_log_filter(_server_log)


def hypercorn_config(options: ServerOptions, fd: int) -> Config:
    """The hypercorn configuration of one worker serving the listening socket ``fd``."""
    config = Config()
    config.bind = [f"fd://{fd}"]
    config.backlog = options.backlog
    # Closes a connection that has not sent a whole request head this long after it opened (or
    # after its previous answer), however many bytes of it trickled in: idle floods fill nothing.
    config.keep_alive_timeout = options.header_timeout
    config.h11_max_incomplete_size = options.max_header_size
    config.h2_max_header_list_size = options.max_header_size
    config.graceful_timeout = options.drain_timeout
    # No read timeout: it would also cut a client waiting for a long upstream answer. Bodies are
    # timed by the bridge, only while it waits for them.
    config.read_timeout = None
    config.include_server_header = False
    config.accesslog = None  # the gateway's own access log has one line per request
    config.errorlog = _server_log
    return config


def raise_fd_limit() -> int:
    """Raise this process's open-file limit to its hard limit; the limit now in force."""
    try:
        import resource
    except ImportError:  # not POSIX
        return 0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
    return soft


def _listen(host: str, port: int, backlog: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=backlog)


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class _Worker:
    """One event loop: hypercorn serving the bridge on the socket ``fd`` until :meth:`stop`."""

    def __init__(
        self,
        app: GatewayApp,
        options: ServerOptions,
        fd: int,
        *,
        signals: bool,
        second_signal_forces: bool = True,
        lifeline: int | None = None,
    ) -> None:
        self.app = app
        self.options = options
        self.bridge = StreamingWSGIBridge(app, options, inline_paths=(HEALTH_PATH,))
        self.config = hypercorn_config(options, fd)
        self.reason = ""
        self._fd: int | None = fd
        self._signals = signals
        self._second_signal_forces = second_signal_forces
        self._lifeline = lifeline
        self._stopping = False
        self._force = False
        self._deadline = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    def stop(self, *, force: bool = False, reason: str = "stop()") -> None:
        """Ask the loop to stop gracefully (``force``: without waiting); safe from any thread."""
        if not self._stopping:
            self.reason = reason
            self._deadline = time.monotonic() + self.options.drain_timeout
        self._stopping = True
        self._force = self._force or force
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: it has stopped already
                loop.call_soon_threadsafe(self._wake)

    def run(self) -> bool:
        """Serve until :meth:`stop` (or a signal), then drain. True when nothing in flight was cut off."""
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)} if self._signals else {}
        try:
            asyncio.run(self._main())
            cut = self.bridge.cut + self.bridge.inflight
        except asyncio.CancelledError:  # a second signal: stop waiting for anything
            cut = self.bridge.inflight or 1
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        clean = True
        if cut:
            why = "a second signal" if self._force else "the drain timeout"
            log.warning("stopping: %d request(s) in flight were cut off by %s", cut, why)
            clean = False
        if self._stopping and not self._force:
            remaining = max(0.0, self._deadline - time.monotonic())
            if not self.app.translator.wait_for_transfers(remaining):
                log.warning(
                    "stopping: media_source transfers still running; each resumes on its owner's next call"
                    " after a restart on the same store"
                )
                clean = False
        return clean

    def close(self) -> None:
        """Close the listening socket when :meth:`run` never took it."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None

    async def _main(self) -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(_quiet_cancellations)
        self._loop, self._stop, self._task = loop, asyncio.Event(), asyncio.current_task()
        if self._signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self._on_signal, sig)
        if self._lifeline is not None:
            loop.add_reader(self._lifeline, self._parent_gone)
        if self._stopping:
            self._wake()
        self._fd = None  # hypercorn owns the socket from here and closes it
        await hypercorn_serve(self.bridge, self.config, shutdown_trigger=self._trigger)  # type: ignore[arg-type]

    def _wake(self) -> None:
        if self._stop is not None:
            self._stop.set()
        if self._force and self._task is not None:
            self._task.cancel()

    def _on_signal(self, sig: signal.Signals) -> None:
        self.stop(force=self._stopping and self._second_signal_forces, reason=sig.name)

    def _cut(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()

    def _parent_gone(self) -> None:
        log.error("worker %d: the supervisor is gone; stopping at once", os.getpid())
        os._exit(1)

    async def _trigger(self) -> None:
        assert self._stop is not None
        await self._stop.wait()
        self.app.draining = True
        log.info("%s: stopping gracefully (new connections are refused)", self.reason)
        # hypercorn bounds its wait by graceful_timeout, but on Python 3.12+ it first waits, without a
        # bound, for asyncio's Server.wait_closed(), which now waits for every connection: cut there.
        asyncio.get_running_loop().call_later(self.options.drain_timeout + _CUT_MARGIN, self._cut)
        if self.bridge.inflight:
            log.info(
                "stopping: waiting up to %.0f s for %d request(s) in flight",
                self.options.drain_timeout,
                self.bridge.inflight,
            )


def _quiet_cancellations(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """The loop's error handler, less the CancelledError asyncio reports for each connection a drain
    timeout cuts (its stream callback asks the cancelled task for its exception)."""
    if isinstance(context.get("exception"), asyncio.CancelledError):
        return
    loop.default_exception_handler(context)


def _options(server_options: ServerOptions | None, overrides: dict[str, Any], **defaults: Any) -> ServerOptions:
    base = server_options if server_options is not None else ServerOptions(**defaults)
    return base.with_overrides(**overrides)


def _shared_options(upstream: str, options: Settings | None, overrides: dict[str, Any], inflight: int) -> Settings:
    """The options every worker process builds its application from, resolved (and the store created
    or migrated) once, here; refused when the store cannot be shared: each process would have its own."""
    refusal = ConfigurationError(
        "workers > 1 needs a store every worker process opens for itself: a file path or a"
        " postgresql:// URL (not ':memory:' and not a store object)",
        option="workers",
    )
    if not isinstance(overrides.get("store", ""), str | os.PathLike):
        raise refusal
    app = make_app(upstream, options=options, workers=inflight, **overrides)
    resolved = app.options
    app.close()
    if resolved.store == MEMORY_STORE:
        raise refusal
    return resolved


def serve(
    upstream: str,
    *,
    options: Settings | None = None,
    host: str = "127.0.0.1",
    port: int = 8080,
    on_ready: Callable[[str], None] | None = None,
    server_options: ServerOptions | None = None,
    **overrides: Unpack[GatewayOverrides],
) -> bool:
    """Serve the gateway on ``host:port`` until SIGTERM or SIGINT, then stop gracefully.

    The server's own options (``workers``, ``drain_timeout``, ``header_timeout``, ``max_body_size``
    and the rest of :class:`~compat.gateway.server_options.ServerOptions`) are keywords here or one
    ``server_options``; the old ``max_request_body_size`` and ``channel_timeout`` are accepted.
    ``options`` and the other keyword ``overrides`` are those of :func:`compat.gateway.make_app`.
    ``on_ready(url)`` is called once the socket listens (``port=0`` picks a free port). Returns True
    when the shutdown cut nothing off. With one worker, signal handlers are installed only when
    called from the main thread (and restored on return); more workers need the main thread.
    """
    server, app_overrides = split_server_options(overrides)
    settings = _options(server_options, server)
    limit = raise_fd_limit()
    if settings.workers > 1:
        if not hasattr(os, "fork"):
            raise ConfigurationError("workers > 1 needs os.fork (POSIX)", option="workers")
        # before anything imports prometheus_client: the workers' metrics then add up (multiprocess mode)
        with metrics.multiprocess_directory():
            resolved = _shared_options(upstream, options, app_overrides, settings.max_inflight)
            return _serve_workers(upstream, resolved, host, port, settings, on_ready, limit)
    app = make_app(upstream, options=options, workers=settings.max_inflight, **app_overrides)
    try:
        sock = _listen(host, port, settings.backlog)
    except BaseException:
        app.close()
        raise
    url = _url(sock)
    worker = _Worker(app, settings, sock.detach(), signals=threading.current_thread() is threading.main_thread())
    try:
        log.info("listening on %s; upstream %s; 1 worker; open-file limit %d", url, app.upstream, limit)
        if on_ready is not None:
            on_ready(url)
        clean = worker.run()
        log.info("stopped%s", "" if clean else " (work was cut off; see above)")
        return clean
    finally:
        worker.close()
        app.close()


def _serve_workers(
    upstream: str,
    options: Settings,
    host: str,
    port: int,
    settings: ServerOptions,
    on_ready: Callable[[str], None] | None,
    limit: int,
) -> bool:
    sock = _listen(host, port, settings.backlog)
    url = _url(sock)

    def child(fd: int, lifeline: int) -> bool:
        app = make_app(upstream, options=options, workers=settings.max_inflight)
        try:
            worker = _Worker(app, settings, fd, signals=True, second_signal_forces=False, lifeline=lifeline)
            return worker.run()
        finally:
            app.close()

    supervisor = Supervisor(
        sock, child, workers=settings.workers, drain_timeout=settings.drain_timeout, on_exit=metrics.process_ended
    )
    log.info("listening on %s; upstream %s; %d workers; open-file limit %d", url, upstream, settings.workers, limit)
    clean = supervisor.run(on_ready=None if on_ready is None else lambda: on_ready(url))
    log.info("stopped%s", "" if clean else " (work was cut off; see above)")
    return clean


class GatewayServer:
    """The gateway in a background thread on a free loopback port: for tests and embedding.

    >>> with GatewayServer("http://127.0.0.1:8480", store=":memory:") as gateway:  # doctest: +SKIP
    ...     requests.get(gateway.url + "/_gateway/health").json()["status"]
    'ok'

    The socket listens as soon as the object exists (``url`` is known); :meth:`start` serves it;
    :meth:`stop` shuts down gracefully (as SIGTERM does for :func:`serve`) and waits for it.
    ``app`` is the WSGI :class:`~compat.gateway.app.GatewayApp`. Options are those of :func:`serve`
    with one worker, ``drain_timeout`` 30 s unless given, and ``store=":memory:"`` unless ``options``
    or a ``store`` is given.
    """

    def __init__(
        self,
        upstream: str,
        *,
        options: Settings | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        server_options: ServerOptions | None = None,
        **overrides: Unpack[GatewayOverrides],
    ) -> None:
        server, app_overrides = split_server_options(overrides)
        settings = _options(server_options, server, drain_timeout=30.0)
        if settings.workers != 1:
            raise ConfigurationError(
                "GatewayServer runs one worker in this process; serve() runs more", option="workers"
            )
        if options is None:
            app_overrides.setdefault("store", MEMORY_STORE)  # a test gateway keeps nothing unless told to
        self.server_options = settings
        self.app = make_app(upstream, options=options, workers=settings.max_inflight, **app_overrides)
        try:
            sock = _listen(host, port, settings.backlog)
        except BaseException:
            self.app.close()
            raise
        self._address = _url(sock)
        self._worker = _Worker(self.app, settings, sock.detach(), signals=False)
        self._thread: threading.Thread | None = None
        self._closed = False
        self.clean: bool | None = None
        """After :meth:`stop`: whether the shutdown cut nothing off."""

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return self._address

    @property
    def bridge(self) -> StreamingWSGIBridge:
        """The ASGI bridge (its ``inflight`` count, for tests and metrics)."""
        return self._worker.bridge

    def start(self) -> GatewayServer:
        """Serve in a daemon thread."""
        if self._thread is None and not self._closed:
            self._thread = threading.Thread(target=self._run, name="scriptix-compat-gateway", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        try:
            self.clean = self._worker.run()
        finally:
            self._close()

    def stop(self, timeout: float | None = None) -> None:
        """Stop gracefully and wait (up to ``timeout`` seconds more than the drain timeout)."""
        if self._thread is None:
            self._close()
            return
        self._worker.stop()
        self._thread.join(None if timeout is None else self.server_options.drain_timeout + timeout)

    def _close(self) -> None:
        if not self._closed:
            self._closed = True
            self._worker.close()
            self.app.close()

    def __enter__(self) -> GatewayServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
