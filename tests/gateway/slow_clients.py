"""Hostile and normal clients for the slow-client tests: a flood of connections that send a byte a
second (or nothing), and a normal client that times each of its calls.

The flood comes from another loopback address (127.0.0.2: Linux routes all of 127/8 to lo), as
an attacker's connections come from addresses other than the normal clients', and runs in a process
of its own, as an attacker's CPU is not the gateway's.
"""

from __future__ import annotations

import multiprocessing
import os
import selectors
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import requests

from compat.gateway.server import raise_fd_limit

FLOOD_ADDRESS = "127.0.0.2"
_ENDLESS_HEAD = b"GET /api/v3/speech-to-text/session HTTP/1.1\r\nHost: gw\r\nX-Pad: "  # then "a" for ever
Mode = Literal["idle", "header", "body"]


@dataclass
class Closed:
    """One flood connection the server closed: after how long, and the status it answered (if any)."""

    age: float
    status: int | None


@dataclass
class _Conn:
    sock: socket.socket
    opened: float
    sent: int = 0
    answer: bytes = b""


@dataclass
class Flood:
    """``count`` connections to ``url`` from ``FLOOD_ADDRESS`` for ``seconds``, each sending one byte a second.

    ``header``: a request head that never ends; ``body``: a whole head (``Content-Length`` 1 MB) then its
    body a byte a second; ``idle``: nothing at all. In ``header`` and ``idle`` mode a connection the
    server closes is opened again at once, so the flood stays ``count`` strong for its whole length.
    """

    url: str
    count: int
    mode: Mode
    seconds: float
    head: bytes = b""
    closed: list[Closed] = field(default_factory=list)
    opened: int = 0
    peak: int = 0
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        raise_fd_limit()
        host, port = self.url.removeprefix("http://").split(":")
        self._address = (host, int(port))
        context = multiprocessing.get_context("spawn")
        self._ready = context.Event()
        self._stop = context.Event()
        self._results: Any = context.Queue()
        plan = (self.url, self.count, self.mode, self.seconds, self.head)
        self._process = context.Process(
            target=_flood_process, args=(plan, self._ready, self._stop, self._results), name="flood", daemon=True
        )

    def start(self) -> Flood:
        self._process.start()
        assert self._ready.wait(60), "the flood could not open its connections"
        return self

    def join(self) -> None:
        closed, self.opened, self.peak, self.errors = self._results.get(timeout=self.seconds + 60)
        self.closed = [Closed(age, status) for age, status in closed]
        self._process.join(10)

    def stop(self) -> None:
        self._stop.set()
        self.join()

    def _open(self, selector: selectors.BaseSelector, conns: dict[int, _Conn]) -> None:
        sock = socket.create_connection(self._address, timeout=5, source_address=(FLOOD_ADDRESS, 0))
        sock.setblocking(False)
        conn = _Conn(sock, time.monotonic())
        if self.mode == "body":
            sock.send(self.head)
        conns[sock.fileno()] = conn
        selector.register(sock, selectors.EVENT_READ, conn)
        self.opened += 1

    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        conns: dict[int, _Conn] = {}
        reopen_at: list[float] = []
        try:
            for _ in range(self.count):
                self._open(selector, conns)
            self.peak = len(conns)
            self._ready.set()
            started = time.monotonic()
            next_tick = started + 1.0
            while time.monotonic() - started < self.seconds and not self._stop.is_set():
                for key, _ in selector.select(timeout=max(0.0, min(0.2, next_tick - time.monotonic()))):
                    self._read(key.data, selector, conns, reopen_at)
                now = time.monotonic()
                due = [t for t in reopen_at if t <= now]
                for t in due:
                    reopen_at.remove(t)
                    self._open(selector, conns)
                self.peak = max(self.peak, len(conns))
                if now >= next_tick:
                    next_tick += 1.0
                    if self.mode != "idle":
                        for conn in list(conns.values()):
                            self._trickle(conn, selector, conns, reopen_at)
        except Exception as exc:  # reported by the test
            self.errors.append(repr(exc))
        finally:
            self._ready.set()
            for conn in conns.values():
                conn.sock.close()
            selector.close()

    def _trickle(
        self, conn: _Conn, selector: selectors.BaseSelector, conns: dict[int, _Conn], reopen_at: list[float]
    ) -> None:
        if self.mode == "header":
            byte = (
                b"GET /api/v3/speech-to-text/session HTTP/1.1\r\nHost: gw\r\nX-Pad: "[conn.sent : conn.sent + 1] or b"a"
            )
        else:
            byte = b"x"
        try:
            conn.sock.send(byte)
            conn.sent += 1
        except OSError:
            self._gone(conn, selector, conns, reopen_at)

    def _read(
        self, conn: _Conn, selector: selectors.BaseSelector, conns: dict[int, _Conn], reopen_at: list[float]
    ) -> None:
        try:
            data = conn.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            conn.answer += data
            return
        self._gone(conn, selector, conns, reopen_at)

    def _gone(
        self, conn: _Conn, selector: selectors.BaseSelector, conns: dict[int, _Conn], reopen_at: list[float]
    ) -> None:
        fd = conn.sock.fileno()
        if fd in conns:
            selector.unregister(conn.sock)
            del conns[fd]
        conn.sock.close()
        status = int(conn.answer.split(b" ", 2)[1]) if conn.answer.startswith(b"HTTP/1.1 ") else None
        self.closed.append(Closed(time.monotonic() - conn.opened, status))
        if self.mode != "body":  # a refused body is not sent again (that would be a flood of connections)
            reopen_at.append(time.monotonic())


def _flood_process(plan: tuple[Any, ...], ready: Any, stop: Any, results: Any) -> None:
    """The flood's own process: run it, then send back what happened."""
    flood = Flood.__new__(Flood)
    flood.url, flood.count, flood.mode, flood.seconds, flood.head = plan
    flood.closed, flood.opened, flood.peak, flood.errors = [], 0, 0, []
    host, port = flood.url.removeprefix("http://").split(":")
    flood._address = (host, int(port))
    flood._ready, flood._stop = ready, stop
    raise_fd_limit()
    flood._run()
    results.put(([(c.age, c.status) for c in flood.closed], flood.opened, flood.peak, flood.errors))


@dataclass
class NormalClient:
    """A well-behaved V1 caller: health, create, a 1 MiB PUT and the result, each call timed."""

    url: str
    token: str
    timings: dict[str, list[float]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def _timed(self, name: str, method: str, path: str, **kwargs: object) -> requests.Response | None:
        started = time.monotonic()
        try:
            response = requests.request(method, self.url + path, timeout=10, **kwargs)  # type: ignore[arg-type]
        except requests.RequestException as exc:
            self.failures.append(f"{name}: {type(exc).__name__}")
            return None
        self.timings.setdefault(name, []).append(time.monotonic() - started)
        if response.status_code != 200:
            self.failures.append(f"{name}: {response.status_code} {response.text[:200]}")
            return None
        return response

    def cycle(self, sessions: str) -> None:
        auth = {"x-zoom-s2t-key": self.token}
        self._timed("health", "GET", "/_gateway/health")
        created = self._timed("create", "POST", sessions, json={"language": "en"}, headers=auth)
        if created is None:
            return
        session_id = created.json()["result"]["session_id"]
        media = {**auth, "Content-Type": "audio/wav", "x-filename": "talk.wav"}
        self._timed("put", "PUT", f"{sessions}/{session_id}", data=b"RIFF" + os.urandom(1024 * 1024 - 4), headers=media)
        self._timed("result", "GET", f"{sessions}/{session_id}/result", headers=auth)

    def slowest(self) -> dict[str, float]:
        return {name: max(values) for name, values in self.timings.items()}
