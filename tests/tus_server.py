"""Start and control a real TUS peer (``@tus/server`` + ``@tus/file-store``) for tests.

The peer is ``tests/tus-server/server.mjs`` run with Node. It serves the TUS
protocol at ``/api/v3/files`` on 127.0.0.1 and keeps every upload in one
directory, the way ``@tus/file-store`` lays it out::

    DIR/<id>        the bytes received so far (its size is the upload offset)
    DIR/<id>.json   {"id", "size", "offset", "metadata", "creation_date"}
                    where "metadata" is already decoded ({"key": "value" | null})
                    and "offset" is always 0 (FileStore never rewrites it)

It also takes ``PUT /sink/<name>`` (body streamed to ``DIR/sink-<name>``) for
benchmarks.

This module is imported by the integration tests (``tests/integration``) and by
``bench/`` (via ``sys.path``); it depends on the standard library only.

Typical use::

    with TusServer(tmp_path / "tus") as server:
        upload_somehow(server.endpoint)
        [stored] = server.uploads()
        assert stored.path.read_bytes() == data

Before first use run ``npm ci`` in ``tests/tus-server`` (see :func:`node_ready`).
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

__all__ = [
    "SERVER_DIR",
    "SERVER_SCRIPT",
    "StoredUpload",
    "TusServer",
    "TusServerError",
    "node_ready",
]

#: Folder of the Node project (package.json, package-lock.json, server.mjs).
SERVER_DIR = Path(__file__).resolve().parent / "tus-server"
#: The server script run by :class:`TusServer`.
SERVER_SCRIPT = SERVER_DIR / "server.mjs"

HOST = "127.0.0.1"
TUS_PATH = "/api/v3/files/"

_REQUIRED_MODULES = ("@tus/server", "@tus/file-store")
_EXIT_ADDRESS_IN_USE = 3  # server.mjs exits with 3 on EADDRINUSE
_LOG_TAIL = 4000  # characters of server stderr quoted in a start-up error


def node_ready() -> bool:
    """Tell whether the TUS peer can be started here.

    True when a ``node`` executable is on ``PATH`` and ``npm ci`` has been run in
    ``tests/tus-server`` (both ``@tus/server`` and ``@tus/file-store`` are in
    its ``node_modules``).
    """
    if shutil.which("node") is None or not SERVER_SCRIPT.is_file():
        return False
    modules = SERVER_DIR / "node_modules"
    return all((modules / name / "package.json").is_file() for name in _REQUIRED_MODULES)


class TusServerError(RuntimeError):
    """The TUS peer could not be started (the message carries its stderr)."""


@dataclass(frozen=True)
class StoredUpload:
    """One upload as ``@tus/file-store`` keeps it on disk.

    Attributes:
        id: The upload id (last segment of its URL).
        size: ``Upload-Length`` declared at creation; ``None`` when deferred.
        offset: Bytes stored so far (size of the data file).
        metadata: Decoded ``Upload-Metadata``; a key sent without a value maps to ``None``.
        path: The data file.
        info_path: The ``<id>.json`` info file.
        creation_date: ISO-8601 creation time recorded by the server.
    """

    id: str
    size: int | None
    offset: int
    metadata: dict[str, str | None] = field(hash=False)
    path: Path
    info_path: Path
    creation_date: str | None = None

    @property
    def complete(self) -> bool:
        """True when every declared byte has been received."""
        return self.size is not None and self.offset == self.size

    def read_bytes(self) -> bytes:
        """Return the bytes stored so far."""
        return self.path.read_bytes()


class TusServer:
    """A ``node server.mjs`` process serving TUS on 127.0.0.1.

    The first :meth:`start` picks a free port when ``port`` is 0; later starts
    (:meth:`restart`, or :meth:`start` after :meth:`stop`/:meth:`kill`) reuse
    that port and the same directory, so clients can resume their uploads.

    The server's stderr is collected in a temporary log file (see :meth:`log`)
    that lives as long as this object; it is included in start-up errors.

    Methods may be called from several threads (e.g. a test kills the server
    from an upload callback and restarts it from a background thread).
    """

    def __init__(
        self,
        directory: Path,
        *,
        port: int = 0,
        max_size: int | None = None,
        startup_timeout: float = 15.0,
    ) -> None:
        """Prepare (but do not start) a server.

        Args:
            directory: Where uploads are stored; created when missing.
            port: TCP port on 127.0.0.1; 0 picks a free one at first start.
            max_size: ``Tus-Max-Size`` in bytes (larger uploads get 413), or no limit.
            startup_timeout: Seconds to wait for the server to report its port.
        """
        self.directory = Path(directory)
        self.max_size = max_size
        self.startup_timeout = startup_timeout
        self._port = port
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._lock = threading.RLock()

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> None:
        """Spawn the server and wait until it listens.

        Raises:
            TusServerError: Node exited, or did not report its port within
                ``startup_timeout`` seconds (the message includes its stderr).
            RuntimeError: The server is already running.
        """
        with self._lock:
            if self.running:
                raise RuntimeError(f"TUS server already running on port {self._port}")
            self.kill()  # reap a server that died by itself
            self.directory.mkdir(parents=True, exist_ok=True)
            deadline = time.monotonic() + self.startup_timeout
            while True:
                proc = self._spawn()
                port, error = self._read_port(proc, deadline)
                if port is not None:
                    self._proc = proc
                    self._port = port
                    return
                self._terminate(proc, graceful=False)
                address_in_use = proc.returncode == _EXIT_ADDRESS_IN_USE
                # After kill() the old listener may take a moment to go away.
                if address_in_use and self._port and time.monotonic() + 0.1 < deadline:
                    time.sleep(0.1)
                    continue
                stderr = self.log()[-_LOG_TAIL:]
                raise TusServerError(f"{error}\n--- server stderr (tail) ---\n{stderr}")

    def stop(self) -> None:
        """Stop the server: SIGTERM, wait up to 5 s, then SIGKILL. No-op when not running."""
        with self._lock:
            proc, self._proc = self._proc, None
            if proc is not None:
                self._terminate(proc, graceful=True)

    def kill(self) -> None:
        """SIGKILL the server at once (simulates a crash) and reap it."""
        with self._lock:
            proc, self._proc = self._proc, None
            if proc is not None:
                self._terminate(proc, graceful=False)

    def restart(self) -> None:
        """Stop the server if it runs, then start it on the same port and directory."""
        with self._lock:
            self.stop()
            self.start()

    def close(self) -> None:
        """Stop the server and drop its log file."""
        with self._lock:
            self.stop()
            if self._log is not None:
                self._log.close()
                self._log = None

    def __enter__(self) -> TusServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- addresses ---------------------------------------------------------

    @property
    def running(self) -> bool:
        """True while the server process is alive."""
        proc = self._proc
        return proc is not None and proc.poll() is None

    @property
    def pid(self) -> int | None:
        """Process id of the running server, if any."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    @property
    def port(self) -> int:
        """The TCP port (known after the first successful :meth:`start`)."""
        if not self._port:
            raise RuntimeError("TUS server has not been started yet")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{HOST}:{self.port}"

    @property
    def endpoint(self) -> str:
        """The TUS creation URL, ``base_url + "/api/v3/files/"``."""
        return self.base_url + TUS_PATH

    def sink_url(self, name: str) -> str:
        """URL of the benchmark sink: a PUT there stores the body in :meth:`sink_path`."""
        return f"{self.base_url}/sink/{name}"

    def sink_path(self, name: str) -> Path:
        """Where the body of ``PUT /sink/<name>`` is written."""
        return self.directory / f"sink-{name}"

    # -- stored uploads ----------------------------------------------------

    def uploads(self) -> list[StoredUpload]:
        """Every upload in the directory (finished or not), oldest first.

        An upload is a ``<id>.json`` info file with its ``<id>`` data file beside it.

        Raises:
            ValueError: An info file is not valid FileStore JSON.
        """
        found: list[StoredUpload] = []
        if not self.directory.is_dir():
            return found
        for info_path in self.directory.glob("*.json"):
            data_path = info_path.with_suffix("")
            if not data_path.is_file():
                continue
            found.append(self._read_upload(info_path, data_path))
        found.sort(key=lambda u: (u.creation_date or "", u.id))
        return found

    def upload(self, upload_id_or_url: str) -> StoredUpload:
        """The stored upload with this id, or with this upload URL's last segment.

        Raises:
            KeyError: No such upload.
        """
        upload_id = upload_id_or_url.rstrip("/").rsplit("/", 1)[-1]
        info_path = self.directory / f"{upload_id}.json"
        data_path = self.directory / upload_id
        if "/" in upload_id or not info_path.is_file() or not data_path.is_file():
            raise KeyError(upload_id)
        return self._read_upload(info_path, data_path)

    def log(self) -> str:
        """Everything the server wrote to stderr so far (all starts)."""
        with self._lock:
            if self._log is None:
                return ""
            self._log.flush()
            return Path(self._log.name).read_bytes().decode("utf-8", "replace")

    # -- internals ---------------------------------------------------------

    @staticmethod
    def _read_upload(info_path: Path, data_path: Path) -> StoredUpload:
        try:
            info: Any = json.loads(info_path.read_text(encoding="utf-8"))
            if not isinstance(info, dict):
                raise TypeError("not an object")
            size = info.get("size")
            metadata = info.get("metadata") or {}
            if size is not None and not isinstance(size, int):
                raise TypeError(f"size {size!r}")
            if not isinstance(metadata, dict):
                raise TypeError(f"metadata {metadata!r}")
        except (OSError, ValueError, TypeError) as exc:
            raise ValueError(f"unreadable FileStore info file {info_path}: {exc}") from exc
        return StoredUpload(
            id=str(info.get("id", data_path.name)),
            size=size,
            offset=data_path.stat().st_size,
            metadata={str(k): None if v is None else str(v) for k, v in metadata.items()},
            path=data_path,
            info_path=info_path,
            creation_date=info.get("creation_date"),
        )

    def _spawn(self) -> subprocess.Popen[bytes]:
        if self._log is None:
            self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - lives with self
                prefix="tus-server-", suffix=".log", delete=True
            )
        cmd = [
            shutil.which("node") or "node",
            str(SERVER_SCRIPT),
            "--dir",
            str(self.directory),
            "--host",
            HOST,
            "--port",
            str(self._port),
            # Exit if this process dies without stopping the server (no orphans).
            "--exit-with-parent",
        ]
        if self.max_size is not None:
            cmd.append(f"--max-size={self.max_size}")
        try:
            return subprocess.Popen(
                cmd,
                cwd=SERVER_DIR,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=self._log,
            )
        except OSError as exc:
            raise TusServerError(f"cannot run {cmd[0]}: {exc}") from exc

    @staticmethod
    def _read_port(proc: subprocess.Popen[bytes], deadline: float) -> tuple[int | None, str]:
        """Read the ``{"port": N}`` line; return (port, "") or (None, reason)."""
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        buf = b""
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in buf:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None, "TUS server did not report its port in time"
                if not sel.select(remaining):
                    continue
                chunk = os.read(fd, 4096)
                if not chunk:
                    code = proc.wait(timeout=5)
                    return None, f"TUS server exited with code {code} before listening"
                buf += chunk
        line = buf.split(b"\n", 1)[0]
        try:
            port = json.loads(line)["port"]
            if not isinstance(port, int) or not 0 < port < 65536:
                raise ValueError(port)
        except (ValueError, KeyError, TypeError):
            return None, f"unexpected first line from TUS server: {line!r}"
        return port, ""

    @staticmethod
    def _terminate(proc: subprocess.Popen[bytes], *, graceful: bool) -> None:
        if proc.poll() is None:
            if graceful:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
            else:
                proc.kill()
        try:
            proc.wait(timeout=10)
        finally:
            if proc.stdout is not None:
                proc.stdout.close()
