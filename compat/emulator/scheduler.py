"""A timer thread: run small callables at given times, in order, until stopped."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

__all__ = ["Scheduler"]

log = logging.getLogger("compat.emulator")


class Scheduler:
    """Runs each scheduled callable on one background thread at (or just after) its time.

    Callables must be quick; anything slow (an HTTP call) should start its own thread.
    """

    def __init__(self, name: str = "scriptix-emulator-scheduler") -> None:
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._counter = itertools.count()
        self._condition = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def call_later(self, delay: float, function: Callable[[], None]) -> None:
        """Run ``function`` after ``delay`` seconds (ignored once stopped)."""
        with self._condition:
            if self._stopped:
                return
            heapq.heappush(self._queue, (time.monotonic() + max(0.0, delay), next(self._counter), function))
            self._condition.notify()

    def stop(self) -> None:
        """Drop what is pending and end the thread."""
        with self._condition:
            self._stopped = True
            self._queue.clear()
            self._condition.notify()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._stopped and (not self._queue or self._queue[0][0] > time.monotonic()):
                    timeout = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._condition.wait(timeout)
                if self._stopped:
                    return
                _, _, function = heapq.heappop(self._queue)
            try:
                function()
            except Exception:  # one broken task must not stop the others
                log.exception("emulator task failed")
