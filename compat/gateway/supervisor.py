"""Worker processes for the gateway: one listening socket, N forked children, a graceful stop.

hypercorn's own ``--workers`` is not used: its parent terminates every worker as soon as one
exits, which cuts requests in flight on SIGTERM (measured). This module is process management
only; each child serves HTTP with hypercorn's documented ``serve()`` on the inherited socket.

* The parent binds the socket once (the caller does) and forks ``workers`` children; each builds
  its application **after** the fork (its own connection pools and store connection).
* SIGTERM or SIGINT to the parent: it closes its copy of the socket and sends SIGTERM to every
  child; each stops accepting, lets its requests in flight finish and exits. After
  ``drain_timeout`` (plus a margin) what is left is killed. A second signal kills at once.
  The children take SIGTERM and SIGINT as "stop gracefully", however many arrive (a terminal's
  Ctrl-C or a service manager reaches every process of the group).
* A child that dies on its own is replaced; one that dies within ``_EARLY`` seconds of its start
  ``_CRASH_LOOP`` times in a row stops the gateway (it would only crash again).
* Each child holds the read end of a pipe whose write end only the parent holds: when the parent
  dies, even by SIGKILL, the children see the pipe close and exit at once, so no orphan keeps
  serving (or holding the port).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType

from compat.redact import install_log_filter

__all__ = ["Supervisor"]

_EARLY = 5.0
_CRASH_LOOP = 5
_KILL_MARGIN = 5.0
_TICK = 0.05

log = logging.getLogger("compat.gateway")
install_log_filter(log)

# A child: (inherited listening socket's fd, the lifeline's read end) -> True when it stopped clean.
Child = Callable[[int, int], bool]


@dataclass
class _Slot:
    number: int
    pid: int
    started: float


class Supervisor:
    """Run ``child`` in ``workers`` forked processes on ``sock`` until a signal; see the module docstring."""

    def __init__(
        self,
        sock: socket.socket,
        child: Child,
        *,
        workers: int,
        drain_timeout: float,
        on_exit: Callable[[int], None] | None = None,
    ) -> None:
        self.sock = sock
        self.on_exit = on_exit
        """Called with the process id of each worker that has exited (for per-process cleanup)."""
        self.child = child
        self.workers = workers
        self.drain_timeout = drain_timeout
        self.reason = ""
        self._signals = 0
        self._lifeline_r, self._lifeline_w = os.pipe()
        self._slots: dict[int, _Slot] = {}
        self._crashes = 0
        self._clean = True

    def run(self, on_ready: Callable[[], None] | None = None) -> bool:
        """Fork the workers and supervise them until they have all exited; True when nothing was cut off.

        Must run in the main thread (it handles SIGTERM and SIGINT; the previous handlers come back).
        """
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            for number in range(self.workers):
                self._fork(number)
            if on_ready is not None:
                on_ready()
            self._supervise()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._close()
        return self._clean

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._signals += 1
        if not self.reason:
            self.reason = signal.Signals(signum).name

    def _fork(self, number: int) -> None:
        pid = os.fork()
        if pid == 0:  # the child: never returns
            code = 70
            try:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    signal.signal(sig, signal.SIG_DFL)
                os.close(self._lifeline_w)
                code = 0 if self.child(self.sock.fileno(), self._lifeline_r) else 1
            except BaseException:
                log.error("worker %d failed:\n%s", number, traceback.format_exc())
            finally:
                logging.shutdown()
                os._exit(code)
        self._slots[pid] = _Slot(number, pid, time.monotonic())
        log.info("worker %d started (pid %d)", number, pid)

    def _supervise(self) -> None:
        stopping_since: float | None = None
        killed = False
        while self._slots:
            if self._signals and stopping_since is None:
                stopping_since = time.monotonic()
                self._stop_children()
            if stopping_since is not None and not killed:
                overdue = time.monotonic() - stopping_since > self.drain_timeout + _KILL_MARGIN
                if self._signals > 1 or overdue:
                    why = "a second signal" if self._signals > 1 else "the drain timeout"
                    log.warning("stopping: %d worker(s) killed by %s", len(self._slots), why)
                    self._kill_children()
                    self._clean = False
                    killed = True
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if not pid:
                time.sleep(_TICK)
                continue
            slot = self._slots.pop(pid, None)
            if slot is None:
                continue
            if self.on_exit is not None:
                try:
                    self.on_exit(pid)
                except Exception:
                    log.warning("cleaning up after worker %d (pid %d) failed", slot.number, pid, exc_info=True)
            code = os.waitstatus_to_exitcode(status)
            if stopping_since is not None:
                if code != 0:
                    self._clean = False
                continue
            self._replace(slot, code)

    def _replace(self, slot: _Slot, code: int) -> None:
        log.warning("worker %d (pid %d) exited on its own (%d): starting another", slot.number, slot.pid, code)
        self._crashes = self._crashes + 1 if time.monotonic() - slot.started < _EARLY else 0
        if self._crashes >= _CRASH_LOOP:
            log.error("workers keep failing at start: stopping the gateway")
            self._clean = False
            self._signals = max(self._signals, 1)
            self.reason = self.reason or "workers failing"
            return
        self._fork(slot.number)

    def _stop_children(self) -> None:
        log.info("%s: stopping gracefully (new connections are refused)", self.reason)
        self.sock.close()  # the children close theirs as they stop: then the port refuses connections
        for pid in list(self._slots):
            _send(pid, signal.SIGTERM)

    def _kill_children(self) -> None:
        for pid in list(self._slots):
            _send(pid, signal.SIGKILL)

    def _close(self) -> None:
        for fd in (self._lifeline_r, self._lifeline_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.sock.close()


def _send(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
