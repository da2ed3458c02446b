"""What this process is transferring right now, per session: one registry, owned by the translator.

A *transfer* is media going up for one session: a V1 ``PUT`` upload, a ``media_source`` job (fetch,
then upload; in the caller's thread or in a background thread) or a TUS ``/align`` (two uploads).
Each has a cancel event, handed to every upload it runs (so a cancelled transfer stops between
chunks and terminates its upload on the server), and ends exactly once.

The registry answers three questions: is anything running for this session here
(:meth:`Transfers.running`), stop what runs for it (:meth:`Transfers.cancel`), and wait for all of
it (:meth:`Transfers.wait`). What is shared between processes (who holds a session's upload claim,
the URLs to resume uploads at) lives in the state store, not here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from compat import telemetry
from compat.errors import UploadCancelledError

__all__ = ["Transfer", "TransferKind", "Transfers"]

log = logging.getLogger("compat.transfers")

TransferKind = telemetry.TransferKind


class Transfer:
    """One transfer in flight for one session; see the module docstring."""

    def __init__(self, session_id: str, kind: TransferKind) -> None:
        self.session_id = session_id
        self.kind: TransferKind = kind
        self.cancel = threading.Event()
        """Set to stop the transfer; pass it as ``cancel=`` to every upload the transfer runs."""
        self._ended = threading.Event()

    def __repr__(self) -> str:
        state = "ended" if self.ended else "cancelled" if self.cancel.is_set() else "running"
        return f"Transfer({self.session_id!r}, {self.kind!r}, {state})"

    @property
    def ended(self) -> bool:
        return self._ended.is_set()

    def raise_if_cancelled(self) -> None:
        """Raise :class:`compat.UploadCancelledError` once the transfer was cancelled.

        For the moments before an upload has begun (a ``media_source`` still being fetched):
        an upload started with a cancelled event would be created upstream only to be terminated.
        """
        if self.cancel.is_set():
            raise UploadCancelledError("the upload was cancelled before it began (the session was deleted)")

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the transfer has ended; False when ``timeout`` ran out first."""
        return self._ended.wait(timeout)


class Transfers:
    """The transfers in flight in this process, by session id. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, list[Transfer]] = {}

    def __repr__(self) -> str:
        with self._lock:
            count = sum(len(transfers) for transfers in self._running.values())
        return f"Transfers({count} in flight)"

    @contextmanager
    def track(self, session_id: str, kind: TransferKind) -> Iterator[Transfer]:
        """Run a transfer in the caller's thread: registered for the length of the ``with`` block."""
        transfer = Transfer(session_id, kind)
        with self._lock:
            self._running.setdefault(session_id, []).append(transfer)
        telemetry.transfer_started(kind)
        try:
            yield transfer
        finally:
            self._end(transfer)

    def start(self, session_id: str, kind: TransferKind, job: Callable[[Transfer], None]) -> bool:
        """Run ``job(transfer)`` in a daemon thread, as the session's only transfer here.

        False, and nothing started, when this process is transferring media for the session
        already. The transfer ends when ``job`` returns or raises; a job records its own failure
        (nobody is there to hear it), and one it lets escape is logged here.
        """
        transfer = Transfer(session_id, kind)
        with self._lock:
            if self._running.get(session_id):
                return False
            self._running[session_id] = [transfer]
        telemetry.transfer_started(kind)
        worker = threading.Thread(
            target=self._run, args=(transfer, job), name=f"scriptix-compat-{kind}-{session_id}", daemon=True
        )
        try:
            worker.start()
        except BaseException:
            self._end(transfer)
            raise
        return True

    def running(self, session_id: str) -> bool:
        """Whether this process is transferring media for the session right now."""
        with self._lock:
            return bool(self._running.get(session_id))

    def cancel(self, session_id: str) -> int:
        """Cancel every transfer in flight for the session; how many there were.

        Each stops at its next check (between chunks, or inside a chunk being sent) and
        terminates its upload on the server; this does not wait for that.
        """
        with self._lock:
            transfers = list(self._running.get(session_id, ()))
        for transfer in transfers:
            transfer.cancel.set()
        return len(transfers)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until no transfer is in flight (those started meanwhile included).

        True when none is left; False when ``timeout`` (seconds) ran out first.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                transfers = [t for running in self._running.values() for t in running]
            if not transfers:
                return True
            for transfer in transfers:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                if not transfer.wait(left):
                    return False

    def after(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once no transfer is in flight: now when none is, else from a daemon
        thread when the last one (those started meanwhile included) has ended."""
        if self.wait(0):
            callback()
            return

        def when_idle() -> None:
            self.wait()
            try:
                callback()
            except Exception:
                log.exception("closing after the last transfer failed")

        threading.Thread(target=when_idle, name="scriptix-compat-close", daemon=True).start()

    def _run(self, transfer: Transfer, job: Callable[[Transfer], None]) -> None:
        try:
            job(transfer)
        except Exception:
            log.exception("the %s transfer for session %s failed", transfer.kind, transfer.session_id)
        finally:
            self._end(transfer)

    def _end(self, transfer: Transfer) -> None:
        telemetry.transfer_ended(transfer.kind)
        with self._lock:
            running = self._running.get(transfer.session_id, [])
            if transfer in running:
                running.remove(transfer)
            if not running:
                self._running.pop(transfer.session_id, None)
        transfer._ended.set()
