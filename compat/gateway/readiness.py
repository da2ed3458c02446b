"""``/_gateway/ready``: whether this gateway can serve legacy calls now.

Two checks: the **store** answers and records the schema version this release uses (one round
trip: a read of its meta table), and the **upstream** answers (an unauthenticated ``OPTIONS`` on its
TUS endpoint: any status below 500 counts, since only an answer is asked for). ``/_gateway/health``
stays a liveness check that touches neither.

Each check is a :class:`Probe`: run at most once per ``ttl`` seconds (a storm of load-balancer probes
costs one store read and one upstream request per second and process), never twice at once, and
waited for at most ``timeout`` seconds (a probe still running then is "no answer within …": the
caller never hangs, and the probe's result serves the next callers when it comes). A failure is
described by what failed, never with a URL, a token or a password.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

import requests

from compat.errors import StoreError
from compat.redact import install_log_filter
from compat.store import Store
from compat.store.schema import latest_version

__all__ = ["PROBE_TIMEOUT", "PROBE_TTL", "Check", "Probe", "Readiness"]

log = logging.getLogger("compat.gateway")
install_log_filter(log)

PROBE_TTL = 1.0
"""Seconds a check's result is reused before the check runs again."""
PROBE_TIMEOUT = 2.0
"""Seconds a caller waits for a check (and the upstream probe's connect and read timeouts)."""


@dataclass(frozen=True)
class Check:
    """One check's result: ``ok``, and what was found (or what failed)."""

    ok: bool
    detail: str


@dataclass(eq=False)
class Probe:
    """One check, run in a thread of its own at most once per ``ttl`` seconds; see the module docstring.

    ``check`` returns what it found, or raises: its exception's message (or its type, for one that
    is not a :class:`NotReady`) says what failed.
    """

    name: str
    check: Callable[[], str]
    _: KW_ONLY
    ttl: float = PROBE_TTL
    timeout: float = PROBE_TIMEOUT
    clock: Callable[[], float] = time.monotonic
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _last: Check | None = field(default=None, init=False, repr=False)
    _at: float = field(default=0.0, init=False, repr=False)
    _running: threading.Event | None = field(default=None, init=False, repr=False)

    def start(self) -> threading.Event | None:
        """Begin a run unless a fresh result is known or a run is under way; the event a caller waits on."""
        with self._lock:
            if self._last is not None and self.clock() - self._at < self.ttl:
                return None
            if self._running is None:
                self._running = threading.Event()
                worker = threading.Thread(
                    target=self._run, args=(self._running,), name=f"scriptix-compat-ready-{self.name}", daemon=True
                )
                worker.start()
            return self._running

    def result(self, deadline: float | None = None) -> Check:
        """The check's result: fresh (at most ``ttl`` old) or ``no answer within …`` by ``deadline``
        (a :func:`time.monotonic` time; default ``timeout`` from now)."""
        return self.wait(self.start(), deadline)

    def wait(self, running: threading.Event | None, deadline: float | None = None) -> Check:
        """The result of the run ``running`` (from :meth:`start`; ``None``: the fresh one known), or
        ``no answer within …`` when it has not ended by ``deadline``."""
        if running is not None:
            end = deadline if deadline is not None else time.monotonic() + self.timeout
            if not running.wait(max(0.0, end - time.monotonic())):
                return Check(False, f"no answer within {self.timeout:g} s")
        with self._lock:
            assert self._last is not None
            return self._last

    def _run(self, done: threading.Event) -> None:
        try:
            found = Check(True, self.check())
        except NotReady as exc:
            found = Check(False, str(exc))
        except Exception as exc:
            found = Check(False, f"the check failed ({type(exc).__name__})")
        with self._lock:
            self._last, self._at, self._running = found, self.clock(), None
        done.set()


class NotReady(Exception):
    """A check found its dependency there but not usable; the message says why (no secret in it)."""


class Readiness:
    """The checks behind ``/_gateway/ready`` for one gateway: its ``store``, and the upstream at
    ``probe_url`` (its TUS endpoint)."""

    def __init__(self, store: Store, probe_url: str, *, ttl: float = PROBE_TTL, timeout: float = PROBE_TIMEOUT) -> None:
        self.store = store
        self.probe_url = probe_url
        self.timeout = timeout
        self._session = requests.Session()
        self._session.trust_env = False
        self.probes = (
            Probe("store", self._store, ttl=ttl, timeout=timeout),
            Probe("upstream", self._upstream, ttl=ttl, timeout=timeout),
        )

    def close(self) -> None:
        self._session.close()

    def report(self) -> tuple[bool, dict[str, Any]]:
        """Whether every check passed, and a JSON body naming each check's result (and which failed)."""
        deadline = time.monotonic() + self.timeout
        runs = [(probe, probe.start()) for probe in self.probes]  # at once: the answer takes the longest, not the sum
        checks = {probe.name: probe.wait(running, deadline) for probe, running in runs}
        failed = [name for name, check in checks.items() if not check.ok]
        body: dict[str, Any] = {
            "status": "ready" if not failed else "not ready",
            "checks": {name: {"ok": check.ok, "detail": check.detail} for name, check in checks.items()},
        }
        if failed:
            body["failed"] = failed
            reasons = "; ".join(f"{name}: {checks[name].detail}" for name in failed)
            body["error"] = f"Service Unavailable: not ready ({reasons})"
        return not failed, body

    def _store(self) -> str:
        try:
            found = self.store.recorded_schema_version()
        except StoreError as exc:  # its message names the store's location: for the log, not for any caller
            log.warning("/_gateway/ready: %s", exc)
            raise NotReady("the store cannot be used (the gateway's log says why)") from None
        latest = latest_version()
        if found != latest:
            raise NotReady(f"the store's schema version is {found}, this release uses {latest}")
        return f"schema version {found}"

    def _upstream(self) -> str:
        try:
            response = self._session.request(
                "OPTIONS", self.probe_url, timeout=(self.timeout, self.timeout), allow_redirects=False
            )
        except requests.Timeout:
            raise NotReady(f"the upstream did not answer within {self.timeout:g} s") from None
        except requests.RequestException as exc:
            raise NotReady(f"the upstream cannot be reached ({type(exc).__name__})") from None
        response.close()
        if response.status_code >= 500:
            raise NotReady(f"the upstream answered {response.status_code}")
        return f"the upstream answered {response.status_code}"
