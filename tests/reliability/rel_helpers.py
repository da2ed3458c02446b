"""Helpers of the fault matrix: a proxy that cuts PATCH bodies at chosen upload offsets, targeted
emulator stalls, a guard against hangs (:func:`bounded`), a full store (:func:`fill_store`), a V1
flow on the scripted fake (:func:`run_flow`) and the checks every case makes.

The proxy stands between a client and the emulator. Each request gets its own connections (it asks
the upstream for ``Connection: close``), so a cut is exact: the upstream receives the first bytes of
the PATCH body up to the chosen absolute upload offset, then the end of the stream (the emulator keeps
what arrived, as a real TUS server does); only once the upstream has settled is the client's
connection reset, unanswered. Each cut offset is used once.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from fake_v3 import FakeV3
from full_matrix import KIB, MIB

from compat import LegacyClient, SQLiteStore
from compat.emulator import Emulator, UploadSnapshot
from compat.store import StoreError

T = TypeVar("T")

__all__ = [
    "KIB",
    "METHODS",
    "MIB",
    "RETRIES",
    "TOKEN",
    "CuttingProxy",
    "StallPlan",
    "assert_one_complete_upload",
    "bounded",
    "emulator_uploads_for",
    "fill_store",
    "free_store",
    "legacy",
    "run_flow",
    "sha256",
    "wait_for_lapsed_claim",
]

TOKEN = "reliability-token-5c1f0e"
RETRIES = 3
METHODS = {
    "session-create": "POST",
    "tus-create": "POST",
    "tus-upload": "PATCH",
    "tus-head": "HEAD",
    "result": "GET",
    "session": "DELETE",
}
"""The steps of a V1 flow as routes of the scripted fake (``tests/fake_v3.py``), with their methods."""

_IO_TIMEOUT = 10.0


class CuttingProxy:
    """A loopback proxy to ``upstream`` that cuts PATCH bodies at the absolute upload offsets ``cuts``."""

    def __init__(self, upstream: str, cuts: Iterable[int] = ()) -> None:
        parts = urlsplit(upstream)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._pending = sorted(set(cuts))
        self._lock = threading.Lock()
        self.done: list[int] = []
        """The offsets cut so far, in order."""
        self.requests: list[tuple[str, str, int | None]] = []
        """``(method, path, Upload-Offset)`` of every request seen."""
        self.patch_bytes = 0
        """PATCH body bytes passed to the upstream (cut bodies count what was passed)."""
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="cutting-proxy", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    @property
    def pending(self) -> list[int]:
        with self._lock:
            return list(self._pending)

    def count(self, method: str, prefix: str = "/") -> int:
        """How many requests of ``method`` under ``prefix`` were seen."""
        with self._lock:
            return sum(1 for m, p, _ in self.requests if m == method and p.startswith(prefix))

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() below
        self._listener.close()
        self._thread.join(5)

    def __enter__(self) -> CuttingProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _take_cut(self, method: str, headers: dict[str, str], length: int) -> int | None:
        """Bytes of this body to pass before cutting, or None to pass it whole."""
        if method != "PATCH" or "upload-offset" not in headers:
            return None
        start = int(headers["upload-offset"])
        with self._lock:
            for offset in self._pending:
                if start <= offset < start + length:
                    self._pending.remove(offset)
                    self.done.append(offset)
                    return offset - start
        return None

    def _serve(self, client: socket.socket) -> None:
        client.settimeout(_IO_TIMEOUT)
        try:
            with client, socket.create_connection(self._target, timeout=_IO_TIMEOUT) as upstream:
                buffer = b""
                while b"\r\n\r\n" not in buffer:
                    block = client.recv(65536)
                    if not block:
                        return
                    buffer += block
                head, _, body = buffer.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path = lines[0].split(" ")[:2]
                headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
                offset = headers.get("upload-offset")
                with self._lock:
                    self.requests.append((method, path, int(offset) if offset is not None else None))
                kept = [line for line in lines if not line.lower().startswith(("connection:", "keep-alive:"))]
                upstream.sendall(("\r\n".join([*kept, "Connection: close"]) + "\r\n\r\n").encode("latin-1"))
                length = int(headers.get("content-length", "0"))
                cut = self._take_cut(method, headers, length)
                passed = self._pass_body(client, upstream, body, length if cut is None else cut)
                if method == "PATCH":
                    with self._lock:
                        self.patch_bytes += passed
                if cut is not None:
                    self._cut(client, upstream)
                    return
                if passed < length:
                    return
                while block := upstream.recv(65536):
                    client.sendall(block)
        except OSError:
            return

    @staticmethod
    def _pass_body(client: socket.socket, upstream: socket.socket, first: bytes, count: int) -> int:
        sent = 0
        block = first
        while sent < count:
            if not block:
                block = client.recv(min(65536, count - sent))
                if not block:
                    break
            part = block[: count - sent]
            upstream.sendall(part)
            sent += len(part)
            block = b""
        return sent

    @staticmethod
    def _cut(client: socket.socket, upstream: socket.socket) -> None:
        upstream.shutdown(socket.SHUT_WR)  # the upstream sees the body end where it was cut
        with contextlib.suppress(OSError):
            while upstream.recv(65536):  # wait until it has stored what arrived and answered
                pass
        # An abortive close: the client gets a reset, never an answer.
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


class StallPlan:
    """Stall chosen requests on the emulator with its own ``stall`` fault (held, then closed unanswered).

    ``plan.add("PATCH", nth=2)`` stalls the second PATCH from now; ``plan.add("HEAD", every=True)``
    stalls every HEAD. Requests are matched by method and, if given, a path prefix.
    """

    def __init__(self, emulator: Emulator, *, seconds: float) -> None:
        self._rules: list[dict[str, Any]] = []
        self._seen: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self.stalled: list[tuple[str, str]] = []
        emulator.faults.update(stall=seconds)
        app = emulator.app
        original = app._serve

        def serve(request: Any, method: str, route: Any, ident: str) -> Any:
            if self._should_stall(method, request.path):
                emulator.faults.update(stall_requests=1)
            return original(request, method, route, ident)

        app._serve = serve  # type: ignore[method-assign]

    def add(self, method: str, *, prefix: str = "/", nth: int = 1, every: bool = False) -> StallPlan:
        self._rules.append({"method": method, "prefix": prefix, "nth": nth, "every": every})
        return self

    def stop(self) -> None:
        """No more stalls from now on (the server recovers)."""
        with self._lock:
            self._rules.clear()

    def seen(self, method: str, prefix: str = "/") -> int:
        """How many requests of ``method`` under ``prefix`` arrived while a rule for them was active."""
        with self._lock:
            return self._seen.get((method, prefix), 0)

    def _should_stall(self, method: str, path: str) -> bool:
        with self._lock:
            matching = [r for r in self._rules if r["method"] == method and path.startswith(r["prefix"])]
            for key in {(r["method"], r["prefix"]) for r in matching}:
                self._seen[key] = self._seen.get(key, 0) + 1
            if any(r["every"] or self._seen[(r["method"], r["prefix"])] == r["nth"] for r in matching):
                self.stalled.append((method, path))
                return True
        return False


def bounded(seconds: float, call: Callable[[], T]) -> tuple[T | None, BaseException | None, float]:
    """Run ``call`` in a thread; fail the test if it has not returned after ``seconds`` (a hang).

    Returns ``(result, exception, elapsed)``: what it returned or raised, and how long it took.
    """
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = call()
        except BaseException as exc:
            outcome["error"] = exc

    started = time.monotonic()
    worker = threading.Thread(target=run, name="bounded-call", daemon=True)
    worker.start()
    worker.join(seconds)
    elapsed = time.monotonic() - started
    if worker.is_alive():
        raise AssertionError(f"the call did not return within {seconds:g} s: it hangs")
    return outcome.get("result"), outcome.get("error"), elapsed


def wait_for_lapsed_claim(store: Path, session_id: str) -> float:
    """Sleep until the upload claim on ``session_id`` (held by a process that was killed) has run out.

    Returns when it ran out (epoch seconds, from the store).
    """
    with contextlib.closing(sqlite3.connect(store)) as db:
        [(until,)] = db.execute("SELECT claim_until FROM sessions WHERE session_id = ?", (session_id,)).fetchall()
    assert until is not None, "the session holds no claim"
    time.sleep(max(0.0, float(until) - time.time()) + 0.05)
    return float(until)


def sha256(data: bytes | Path) -> str:
    return hashlib.sha256(data.read_bytes() if isinstance(data, Path) else data).hexdigest()


def emulator_uploads_for(emulator: Emulator, session_id: str) -> list[UploadSnapshot]:
    """Every live TUS upload the emulator holds for a session."""
    return [upload for upload in emulator.uploads.values() if upload.session_id == session_id]


def assert_one_complete_upload(emulator: Emulator, session_id: str, data: bytes) -> None:
    """The session has exactly one upload upstream, complete, holding exactly ``data``."""
    uploads = emulator_uploads_for(emulator, session_id)
    assert len(uploads) == 1, f"expected one upload for {session_id}, found {len(uploads)}"
    [upload] = uploads
    assert upload.complete and upload.offset == len(data)
    assert sha256(upload.path) == sha256(data), "the bytes upstream differ from the source"


def legacy(base_url: str, store: str | os.PathLike[str] | SQLiteStore = ":memory:", **options: Any) -> LegacyClient:
    """A LegacyClient with small chunks and near-zero backoff (the delays are not what is tested)."""
    settings: dict[str, Any] = {"chunk_size": 64 * KIB, "backoff_base": 0.001, "backoff_max": 0.01}
    settings.update(options)
    return LegacyClient(api_key=TOKEN, base_url=base_url, store=store, **settings)


def run_flow(
    fake: FakeV3, store: Path, source: Path, *, sleep: Callable[[float], None] | None = None
) -> dict[str, Any]:
    """Create, upload, poll and delete, as a V1 caller would; what each step answered.

    ``sleep`` replaces the client's sleep (to record the delays instead of waiting them).
    """
    client = legacy(fake.base_url, store, max_retries=RETRIES)
    if sleep is not None:
        client.v3.transport._sleep = sleep
    answers: dict[str, Any] = {}
    answers["create"] = client.create_session("en")
    session_id = answers["create"]["result"]["session_id"]
    answers["session_id"] = session_id
    answers["upload"] = client.upload(session_id, source)
    answers["result"] = client.get_result(session_id)
    answers["delete"] = client.delete(session_id)
    return answers


_FILLERS = {
    # (statement, key length): keys are random hex like the real ones, so they land in every page
    "sessions": (
        "INSERT INTO sessions(session_id, owner, options, state, created_at, updated_at)"
        " VALUES (?, 'filler', ?, 'new', 0, 0)",
        26,
    ),
    "uploads": ("INSERT INTO uploads(key, url, created_at) VALUES (?, CAST(? AS TEXT), 0)", 64),
}


def fill_store(store: SQLiteStore, *tables: str) -> None:
    """Make the store's file full, as a full disk would (``PRAGMA max_page_count``): after this, a new
    row in any of ``tables`` fails with "database or disk is full", wherever its key sorts."""
    pages = store.execute("PRAGMA page_count")[0][0]
    store.execute(f"PRAGMA max_page_count = {pages}")
    for size in (200, 40, 1):  # ever smaller rows, until not even a small one fits anywhere
        for table in tables:
            statement, key_length = _FILLERS[table]
            misses = 0
            while misses < 300:
                try:
                    store.execute(statement, (secrets.token_hex(key_length)[:key_length], b"x" * size))
                    misses = 0
                except StoreError:
                    misses += 1


def free_store(store: SQLiteStore) -> None:
    """Space again (the disk was cleaned up)."""
    store.execute("PRAGMA max_page_count = 1073741823")
