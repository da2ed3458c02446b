"""``Emulator``: the emulator app on a threaded Werkzeug server in a background thread; ``serve()`` for the CLI."""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any, Literal

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from compat.emulator.app import EmulatorApp, RequestRecord
from compat.emulator.faults import Faults
from compat.emulator.options import (
    ANY,
    DEFAULT_MAX_SIZE,
    DEFAULT_PROCESSING_DELAY,
    DEFAULT_UPLOAD_EXPIRY,
    DEFAULT_V1_TOKENS,
    DEFAULT_WEBHOOK_TIMEOUT,
    EmulatorOptions,
)
from compat.emulator.state import SessionSnapshot, UploadSnapshot
from compat.emulator.webhooks import WebhookDelivery
from compat.formats import TimeUnit

__all__ = ["Emulator", "describe_access", "serve"]

log = logging.getLogger("compat.emulator")

READ_TIMEOUT = 60.0  # seconds a connection may send nothing before it is dropped


class _BoundedReads:
    """The connection's reader with two changes for streamed bodies.

    ``read(n)`` allocates at most 64 KiB at a time: after each answer Werkzeug's dev server
    drains the socket with ``rfile.read(10_000_000)``, which would allocate 10 MB up front even
    when the client has merely closed. ``readinto`` returns what has arrived (one ``recv``), so a
    body that stops midway loses nothing already received. The rest goes to the wrapped reader.
    """

    STEP = 64 * 1024

    def __init__(self, reader: Any) -> None:
        self._reader = reader

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            data: bytes = self._reader.read()
            return data
        parts: list[bytes] = []
        left = size
        while left > 0:
            part: bytes = self._reader.read(min(left, self.STEP))
            if not part:
                break
            parts.append(part)
            left -= len(part)
        return b"".join(parts)

    def readinto(self, buffer: Any) -> int:
        count: int = self._reader.readinto1(buffer)
        return count

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)


class _QuietHandler(WSGIRequestHandler):
    """Werkzeug's handler with bounded reads, a read timeout and the access log at DEBUG.

    The timeout frees an upload whose client stopped sending mid-PATCH (as real TUS servers
    do): the bytes received are kept and the next PATCH can resume.
    """

    timeout = READ_TIMEOUT

    def setup(self) -> None:
        super().setup()
        self.rfile = _BoundedReads(self.rfile)  # type: ignore[assignment]

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug("%s %s -> %s", self.command, self.path, code)


class Emulator:
    """A local Scriptix V3 on ``127.0.0.1``: sessions, TUS uploads, results, webhooks, faults;
    with ``v1=True`` also the legacy Batch V1 calls and the Zoom Media API v1/v2.

    >>> with Emulator(processing_delay=0.2) as emu:                         # doctest: +SKIP
    ...     client = V3Client(api_key="any-token", base_url=emu.url)
    ...     result = client.upload("talk.wav", {"language": "en", "document_type": "caption"})
    ...     emu.wait_for_status(result.session_id, "done")

    Args:
        host, port: where to listen (port ``0``: a free port; see :attr:`url`).
        processing_delay: seconds from a complete upload to ``done`` (or ``failed``).
        webhook_speed: compression of the webhook retry schedule (``600``: 1 minute is 0.1 s).
        webhook_timeout: seconds a webhook receiver has to answer 2xx.
        v1: the legacy mode: serve the V1-only calls (PUT upload, ``/align``, ``media_source``) and
            the Zoom Media API v1/v2 (``/api/v1|v2/speech-to-text/session…``) instead of 410.
        max_size: the largest upload in bytes (``Tus-Max-Size``).
        upload_expiry: seconds after which an idle, unfinished upload expires (410).
        transcripts: scripted transcripts by file name, e.g. ``{"talk.wav": "hello world"}``.
        faults: a :class:`Faults` or a mapping of fault settings (see :attr:`faults`).
        storage_dir: where uploaded bytes go (default: a temporary directory removed on stop).
        tokens: the valid tokens, others get 401 (``"any"``: every non-empty token). Default: with
            ``v1``, ``DEFAULT_V1_TOKENS`` (``test-token`` and ``other-token``); else ``"any"``.
        languages: the supported languages, others get 400 ``Invalid language`` (``"any"``: all;
            ``"en"`` covers ``"en-US"``). Default: with ``v1``, ``DEFAULT_LANGUAGES``; else ``"any"``.
        time_unit: ``"s"`` or ``"ms"``, the unit of word times in the legacy answers (``v1`` only):
            the Zoom Media status and the Batch V1 result. Default: milliseconds on the Zoom Media
            routes, seconds in the Batch V1 result.
        allow_insecure_webhooks: with ``v1``, accept webhook/callback URLs V1 refused (not HTTPS,
            ``localhost``, an IP address) so that a receiver on this machine can be called; without
            it the legacy routes answer 422, as the shim does without its option of the same name.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        processing_delay: float = DEFAULT_PROCESSING_DELAY,
        webhook_speed: float = 1.0,
        webhook_timeout: float = DEFAULT_WEBHOOK_TIMEOUT,
        v1: bool = False,
        max_size: int = DEFAULT_MAX_SIZE,
        upload_expiry: float = DEFAULT_UPLOAD_EXPIRY,
        transcripts: Mapping[str, str] | None = None,
        faults: Faults | Mapping[str, Any] | None = None,
        storage_dir: str | Path | None = None,
        tokens: Collection[str] | Literal["any"] | None = None,
        languages: Collection[str] | Literal["any"] | None = None,
        time_unit: TimeUnit | None = None,
        allow_insecure_webhooks: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.options = EmulatorOptions(
            processing_delay=processing_delay,
            webhook_speed=webhook_speed,
            webhook_timeout=webhook_timeout,
            v1=v1,
            max_size=max_size,
            upload_expiry=upload_expiry,
            transcripts=dict(transcripts or {}),
            storage_dir=Path(storage_dir) if storage_dir is not None else None,
            tokens=tokens,
            languages=languages,
            time_unit=time_unit,
            allow_insecure_webhooks=allow_insecure_webhooks,
        )
        self.faults: Faults = faults if isinstance(faults, Faults) else Faults(**dict(faults or {}))
        """The fault settings, changeable while running (also via ``POST /_emulator/faults``)."""
        self._app: EmulatorApp | None = None
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        self._storage: Path | None = None

    def __repr__(self) -> str:
        where = self.url if self._server is not None else "stopped"
        return f"Emulator({where})"

    # running ------------------------------------------------------------------------------

    def start(self) -> Emulator:
        """Start serving in a background thread; returns ``self``."""
        if self._server is not None:
            return self
        if self.options.storage_dir is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="scriptix-emulator-")
            self._storage = Path(self._tempdir.name)
        else:
            self._storage = self.options.storage_dir
            self._storage.mkdir(parents=True, exist_ok=True)
        self._app = EmulatorApp(self.options, self._storage, self.faults)
        try:
            self._server = make_server(self.host, self.port, self._app, threaded=True, request_handler=_QuietHandler)
        except BaseException:
            self._cleanup()
            raise
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"scriptix-emulator-{self._server.port}",
            daemon=True,
        )
        self._thread.start()
        log.info("Scriptix V3 emulator listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving, end timers and webhooks, and remove the temporary storage."""
        if self._server is not None:
            if self._app is not None:
                self._app.close()  # wakes requests held by latency/stall faults first
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
        self._cleanup()

    def _cleanup(self) -> None:
        if self._app is not None:
            self._app.close()
        self._server = None
        self._thread = None
        if self._tempdir is not None:
            shutil.rmtree(self._tempdir.name, ignore_errors=True)
            self._tempdir.cleanup()
            self._tempdir = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``, the ``base_url`` for clients."""
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start() or use it in a with block")
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"http://{host}:{self._server.port}"

    @property
    def app(self) -> EmulatorApp:
        """The running WSGI application."""
        if self._app is None:
            raise RuntimeError("the emulator has not been started")
        return self._app

    @property
    def storage_dir(self) -> Path:
        """Where uploaded bytes are stored (``uploads/`` for TUS, ``media/`` for V1 uploads)."""
        if self._storage is None:
            raise RuntimeError("the emulator has not been started")
        return self._storage

    # inspection ---------------------------------------------------------------------------

    @property
    def sessions(self) -> dict[str, SessionSnapshot]:
        """Every session (deleted ones too), by id, as of now."""
        return self.app.state.sessions_snapshot()

    @property
    def uploads(self) -> dict[str, UploadSnapshot]:
        """Every TUS upload not terminated, by upload id, as of now."""
        self.app.state.expire_uploads()
        return self.app.state.uploads_snapshot()

    @property
    def webhooks(self) -> list[WebhookDelivery]:
        """Every webhook attempt so far, oldest first."""
        return self.app.webhooks.deliveries

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request answered so far: ``(method, path, status)``."""
        return self.app.requests

    def upload(self, upload: str) -> UploadSnapshot:
        """One upload by its id or its URL (the ``Location`` / ``UploadResult.upload_url``)."""
        return self.uploads[upload.rstrip("/").rsplit("/", 1)[-1]]

    def session(self, session_id: str) -> SessionSnapshot:
        """One session by id (``KeyError`` if unknown)."""
        return self.sessions[session_id]

    def wait_for_status(self, session_id: str, *statuses: str, timeout: float = 10.0) -> SessionSnapshot:
        """Wait until the session's status is one of ``statuses`` (default: ``done``/``failed``)."""
        wanted = statuses or ("done", "failed")
        deadline = time.monotonic() + timeout
        while True:
            snapshot = self.sessions.get(session_id)
            if snapshot is not None and snapshot.status in wanted:
                return snapshot
            if time.monotonic() > deadline:
                found = snapshot.status if snapshot else "unknown"
                raise TimeoutError(f"session {session_id} is {found}, not {'/'.join(wanted)}, after {timeout:g} s")
            time.sleep(0.02)


def describe_access(options: EmulatorOptions) -> str:
    """Which tokens and languages are accepted, in one line (given tokens are counted, never shown)."""
    if options.tokens == ANY:
        tokens = "any token"
    elif options.tokens == frozenset(DEFAULT_V1_TOKENS):
        tokens = "tokens " + ", ".join(DEFAULT_V1_TOKENS) + " (the V1-mode defaults)"
    else:
        tokens = f"{len(options.tokens or ())} given token(s)"
    if options.languages == ANY:
        languages = "any language"
    else:
        languages = "languages " + ", ".join(sorted(options.languages or ()))
    described = f"accepting {tokens}; {languages}"
    if options.v1:
        zoom, batch = options.time_unit_for("zoommedia"), options.time_unit_for("batch_v1")
        described += f"; word times in {zoom} (Zoom Media routes) and {batch} (Batch V1 result)"
    return described


def serve(
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    on_ready: Callable[[Emulator], None] | None = None,
    stop: threading.Event | None = None,
    **options: Any,
) -> None:
    """Run an emulator in the foreground until Ctrl-C (or until ``stop`` is set); for the CLI.

    ``options`` are :class:`Emulator` keywords. ``on_ready(emulator)`` is called once it listens
    (default: print its URL).
    """
    stop = stop or threading.Event()
    with Emulator(host=host, port=port, **options) as emulator:
        if on_ready is not None:
            on_ready(emulator)
        else:
            print(f"Scriptix V3 emulator listening on {emulator.url} (Ctrl-C to stop)", flush=True)
            print(describe_access(emulator.options), flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
