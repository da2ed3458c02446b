"""Callbacks that any thread may add or remove while others are calling them.

The hook for legacy calls (:mod:`compat.hooks`) and the telemetry sinks (:mod:`compat.telemetry`)
both keep one; calling goes over a snapshot, so a callback added or removed meanwhile never
disturbs a loop in progress. This module imports nothing from ``compat``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Generic, TypeVar

__all__ = ["Listeners"]

T = TypeVar("T")


class Listeners(Generic[T]):
    """An ordered set of callbacks: each is added once, and removed by equality."""

    def __init__(self) -> None:
        self._items: tuple[T, ...] = ()
        self._lock = threading.Lock()

    def add(self, item: T) -> None:
        """Keep ``item`` from now on (once, however often it is added)."""
        with self._lock:
            if item not in self._items:
                self._items = (*self._items, item)

    def remove(self, item: T) -> None:
        """Drop ``item`` (nothing happens when it was not added)."""
        with self._lock:
            self._items = tuple(kept for kept in self._items if kept != item)

    def snapshot(self) -> tuple[T, ...]:
        """The callbacks now, in the order they were added."""
        return self._items

    def __iter__(self) -> Iterator[T]:
        return iter(self._items)
