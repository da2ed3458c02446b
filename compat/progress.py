"""Progress on stderr for the command line: a live bar on a terminal, plain lines elsewhere.

On a terminal, tqdm draws bars that redraw themselves with ``\\r``. When stderr is a pipe or a
log file, those frames would pile up as garbage, so the same progress is written as plain lines:
one per tenth of an upload and one per change of a job's status. ``enabled=False``
(``--no-progress``) writes neither.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any, TextIO

from typing_extensions import Self

__all__ = ["StatusProgress", "UploadProgress", "human_size", "is_terminal"]

STEPS = 10  # plain lines per upload


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is an interactive terminal (a bar can redraw itself there)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def human_size(count: float) -> str:
    """``327680`` -> ``"320.0 KiB"``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(count) < 1024 or unit == "GiB":
            return f"{count:.0f} B" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


class _Display:
    """Where progress goes (``stream``, a terminal or not) and the bar, closed at the end of the ``with``."""

    def __init__(self, *, enabled: bool, stream: TextIO | None) -> None:
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.terminal = is_terminal(self.stream)
        self._bar: Any = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.close()


class UploadProgress(_Display):
    """An ``on_progress(done, total)`` callback that shows an upload; use it as a context manager.

    An upload that resumes starts above zero: that is said once, so the user sees what was kept.
    """

    def __init__(self, total: int, *, enabled: bool = True, stream: TextIO | None = None) -> None:
        super().__init__(enabled=enabled, stream=stream)
        self.total = total
        self._started = False
        self._next_step = 0

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        total = total or self.total
        if not self._started:
            self._started = True
            if done > 0:
                self._say(f"upload resumes at {human_size(done)} of {human_size(total)} (already on the server)")
            if self.terminal:
                from tqdm import tqdm

                self._bar = tqdm(
                    total=total,
                    initial=done,
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    desc="upload",
                    file=self.stream,
                )
            else:
                self._next_step = done * STEPS // total + 1 if total else STEPS
                self._say(f"upload: {human_size(done)} of {human_size(total)}")
            return
        if self._bar is not None:
            self._bar.update(done - self._bar.n)
            return
        if total and done * STEPS // total >= self._next_step:
            self._next_step = done * STEPS // total + 1
            self._say(f"upload: {100 * done // total}% ({human_size(done)} of {human_size(total)})")

    def _say(self, line: str) -> None:
        print(line, file=self.stream, flush=True)


class StatusProgress(_Display):
    """Shows a job's status while it is polled: a ticking line on a terminal, a line per change elsewhere."""

    def __init__(self, *, enabled: bool = True, stream: TextIO | None = None) -> None:
        super().__init__(enabled=enabled, stream=stream)
        self._last: str | None = None
        self._started = time.monotonic()

    def update(self, status: str | None) -> None:
        """Record one poll that answered ``status``."""
        if not self.enabled:
            return
        if self.terminal:
            if self._bar is None:
                from tqdm import tqdm

                self._bar = tqdm(
                    total=None,
                    desc="transcribing",
                    unit="poll",
                    bar_format="{desc}: {elapsed} {postfix}",
                    file=self.stream,
                )
            self._bar.set_postfix_str(str(status), refresh=False)
            self._bar.update(1)
            return
        if status != self._last:
            self._last = status
            elapsed = time.monotonic() - self._started
            print(f"status: {status} ({elapsed:.0f} s)", file=self.stream, flush=True)
