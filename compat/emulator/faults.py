"""Injected faults: latency, 429/503 answers, cut PATCH bodies and stalled requests.

One :class:`Faults` object per emulator, changeable while it runs, from Python
(``emulator.faults.rate_503 = 0.2`` or ``emulator.faults.update(...)``) or over HTTP
(``POST /_emulator/faults``). Faults never apply to ``/_emulator/*``. Random decisions come from a
seeded :class:`random.Random`, so a test that sends the same requests sees the same faults.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

__all__ = ["FAULT_NAMES", "Faults"]

T = TypeVar("T")


def _seconds(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ValueError(f"fault {name!r} must be a number of seconds >= 0, not {value!r}")
    return float(value)


def _probability(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise ValueError(f"fault {name!r} must be a probability from 0 to 1, not {value!r}")
    return float(value)


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"fault {name!r} must be a whole number >= 0, not {value!r}")
    return value


def _integer(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"fault {name!r} must be a whole number, not {value!r}")
    return value


class _Setting(Generic[T]):
    """A checked fault setting, read and written under the owner's lock."""

    def __init__(self, check: Callable[[str, Any], T], default: T, doc: str) -> None:
        self.check = check
        self.default = default
        self.name = ""
        self.__doc__ = doc

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type) -> _Setting[T]: ...

    @overload
    def __get__(self, obj: Faults, owner: type) -> T: ...

    def __get__(self, obj: Faults | None, owner: type) -> _Setting[T] | T:
        if obj is None:
            return self
        with obj._lock:
            value: T = obj._values[self.name]
            return value

    def __set__(self, obj: Faults, value: Any) -> None:
        obj.update(**{self.name: value})


class Faults:
    """The faults an emulator injects; every setting can be changed at any time, from any thread.

    Settings:
        latency: seconds added before every answer.
        rate_429, rate_503: probability (0..1) that a request is answered 429 / 503 with
            ``Retry-After: <retry_after>`` and a JSON error, without being acted on.
        retry_after: the ``Retry-After`` seconds sent with those answers.
        drop_patch: cut the connection in the middle of the next N PATCH bodies; the bytes
            received until the cut are kept, as a real TUS server does.
        stall: seconds a stalled request is held before its connection is closed unanswered.
        stall_requests: how many of the next requests stall.
        seed: seed of the random generator (setting it starts the sequence again).
    """

    latency = _Setting(_seconds, 0.0, "Seconds added before every answer.")
    rate_429 = _Setting(_probability, 0.0, "Probability of a 429 answer.")
    rate_503 = _Setting(_probability, 0.0, "Probability of a 503 answer.")
    retry_after = _Setting(_count, 1, "Retry-After seconds sent with injected 429/503 answers.")
    drop_patch = _Setting(_count, 0, "Cut the next N PATCH bodies midway.")
    stall = _Setting(_seconds, 5.0, "Seconds a stalled request is held, then closed unanswered.")
    stall_requests = _Setting(_count, 0, "How many of the next requests stall.")
    seed = _Setting(_integer, 0, "Seed of the fault random generator.")

    def __init__(self, **settings: Any) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, Any] = {name: FAULT_SETTINGS[name].default for name in FAULT_NAMES}
        self._rng = random.Random(self._values["seed"])
        self._injected: dict[str, int] = {"latency": 0, "429": 0, "503": 0, "drop_patch": 0, "stall": 0}
        self.update(**settings)

    def __repr__(self) -> str:
        return f"Faults({', '.join(f'{k}={v!r}' for k, v in self.as_dict().items())})"

    def update(self, **changes: Any) -> None:
        """Change several settings at once; all are checked before any is applied (``ValueError``)."""
        unknown = sorted(set(changes) - set(FAULT_NAMES))
        if unknown:
            raise ValueError(f"unknown fault {unknown[0]!r}; known: {', '.join(FAULT_NAMES)}")
        checked = {name: FAULT_SETTINGS[name].check(name, value) for name, value in changes.items()}
        with self._lock:
            self._values.update(checked)
            if "seed" in checked:
                self._rng.seed(checked["seed"])

    def reset(self) -> None:
        """Back to no faults (the seed is kept)."""
        self.update(**{name: FAULT_SETTINGS[name].default for name in FAULT_NAMES if name != "seed"})

    def as_dict(self) -> dict[str, Any]:
        """The current settings, as ``GET /_emulator/faults`` shows them."""
        with self._lock:
            return dict(self._values)

    @property
    def injected(self) -> dict[str, int]:
        """How many faults of each kind were injected so far."""
        with self._lock:
            return dict(self._injected)

    # decisions, made by the app once per request -------------------------------------------

    def take_latency(self) -> float:
        """Seconds to wait before this answer."""
        with self._lock:
            latency: float = self._values["latency"]
            if latency > 0:
                self._injected["latency"] += 1
            return latency

    def take_stall(self) -> float | None:
        """Seconds to hold this request before closing it unanswered, or ``None``."""
        with self._lock:
            if self._values["stall_requests"] <= 0:
                return None
            self._values["stall_requests"] -= 1
            self._injected["stall"] += 1
            stall: float = self._values["stall"]
            return stall

    def take_status(self) -> tuple[int, int] | None:
        """``(429 or 503, retry_after)`` if this request is to be refused, else ``None``."""
        with self._lock:
            for status, name in ((429, "rate_429"), (503, "rate_503")):
                rate = self._values[name]
                if rate > 0 and self._rng.random() < rate:
                    self._injected[str(status)] += 1
                    return status, int(self._values["retry_after"])
            return None

    def take_drop_patch(self) -> bool:
        """True if this PATCH body is to be cut midway."""
        with self._lock:
            if self._values["drop_patch"] <= 0:
                return False
            self._values["drop_patch"] -= 1
            self._injected["drop_patch"] += 1
            return True


FAULT_SETTINGS: dict[str, _Setting[Any]] = {
    name: value for name, value in vars(Faults).items() if isinstance(value, _Setting)
}
FAULT_NAMES: tuple[str, ...] = tuple(FAULT_SETTINGS)
