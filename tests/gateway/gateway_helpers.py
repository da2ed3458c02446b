"""Helpers for the gateway tests: golden answers, a fake that finishes sessions, raw HTTP, a gateway subprocess."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from fake_v3 import FakeV3
from werkzeug import Request, Response

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden" / "v1"
TOKEN = "gateway-token-4f2a9c"
OTHER = "someone-else-77b1e0"
SESSIONS = "/api/v3/speech-to-text/session"
GATEWAY_OPTIONS: dict[str, Any] = {"chunk_size": 64 * 1024, "backoff_base": 0.001, "drain_timeout": 10.0}


def golden(name: str, **values: str) -> str:
    """A golden V1 answer as ``json.dumps`` writes it, with ``<placeholders>`` filled in."""
    text = (GOLDEN / f"{name}.json").read_text().strip()
    for key, value in values.items():
        text = text.replace(f"<{key}>", value)
    return json.dumps(json.loads(text))


def finish_on_second_poll(fake: FakeV3) -> None:
    """Each session reads ``processing`` on its first result poll and ``completed`` from the second on."""
    original = fake._result
    polls: dict[str, int] = {}
    lock = threading.Lock()

    def progressing(request: Request, ident: str | None) -> Response:
        session = fake.sessions.get(ident or "")
        if session is not None:
            with lock:
                polls[session.id] = polls.get(session.id, 0) + 1
                session.status = "processing" if polls[session.id] == 1 else "completed"
        return original(request, ident)

    fake._result = progressing  # type: ignore[method-assign]


def raw_http(url: str, request: bytes, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` as is on a new connection; the status, headers and body of the answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        while True:
            try:
                block = sock.recv(65536)
            except ConnectionResetError:
                break
            if not block:
                break
            data += block
            if b"\r\n\r\n" in data:
                head, _, rest = data.partition(b"\r\n\r\n")
                length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                if length and len(rest) >= int(length.group(1)):
                    break
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, body


class GatewayProcess:
    """``python -m compat.cli gateway ...`` as a real process, with its stderr collected."""

    def __init__(
        self, upstream: str, store: Path | str, *args: str, port: int = 0, env: dict[str, str] | None = None
    ) -> None:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("SCRIPTIX_")}
        environ.update({"SCRIPTIX_COMPAT_CHUNK_SIZE": "64KiB", "SCRIPTIX_COMPAT_WARN": "off", **(env or {})})
        command = [
            sys.executable,
            "-m",
            "compat.cli",
            "gateway",
            "--listen",
            f"127.0.0.1:{port}",
            "--upstream",
            upstream,
            "--store",
            str(store),
            *args,
        ]
        self.process = subprocess.Popen(
            command, cwd=REPO, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        self.lines: list[str] = []
        self._ready: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        try:
            self.url = self._ready.get(timeout=30)
        except queue.Empty:
            self.kill()
            raise RuntimeError("the gateway did not start:\n" + self.log()) from None
        self.port = int(self.url.rsplit(":", 1)[1])

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))
            found = re.search(r"listening on (http://\S+)", line)
            if found and line.startswith("scriptix-compat gateway:"):
                self._ready.put(found.group(1))

    def log(self) -> str:
        return "\n".join(self.lines)

    def terminate(self) -> None:
        self.process.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)

    def wait(self, timeout: float = 30.0) -> int:
        return self.process.wait(timeout)

    def refuses_connections(self, within: float = 5.0) -> bool:
        """True once a new connection to the gateway's port is refused (polled for ``within`` seconds)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            except ConnectionRefusedError:
                return True
            time.sleep(0.02)
        return False


def wait_until(condition: Any, timeout: float = 10.0, interval: float = 0.02) -> None:
    """Poll ``condition()`` until it is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)
