"""Processes that share one store, as a fleet's members do: ``LegacyClient`` processes and gateways.

A test starts :class:`LegacyProcess` (``tests/upload_racer.py``: a ``LegacyClient`` in a process of
its own that creates sessions and uploads when told to) or :class:`Gateway` (``scriptix-compat
gateway`` as a process) on one store value: a SQLite path or a ``postgresql://`` URL (a database
of the test's own: the ``postgres_url`` fixture of ``tests/pg_guard.py``). Both speak to a
:class:`~fake_v3.FakeV3` upstream, whose records :func:`round_problems`, :func:`metadata_problems`
and :func:`upload_problems` check. :func:`kill_every_process_of` SIGKILLs a gateway with its workers.
The threaded servers the members call (``upstream``, ``media_server``) are fixtures of every test
directory (``tests/conftest.py``).

Used by ``tests/defects/test_item_05_*`` (the claim race, on both backends), ``tests/fleet/`` (a
session created through one member and uploaded through another; a replica killed mid-job; the
database going away) and ``tests/gateway/`` (a replica killed mid-PUT).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_v3 import FakeV3
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import compat
from compat.liveness import process_start

REPO = Path(compat.__file__).resolve().parents[1]
RACER = Path(__file__).resolve().parent / "upload_racer.py"
TIMEOUT = 60.0
ALREADY = {"error": "Invalid data: media was already uploaded for this session"}
SESSIONS = "/api/v3/speech-to-text/session"

FLEET_OPTIONS: dict[str, Any] = {
    "punctuation": True,
    "keep_source": True,
    "multichannel": True,
    "webhook_url": "https://hooks.example.com/fleet/done",
    "webhook_method": "PUT",
    "webhook_headers": ["X-Fleet-Secret: 7f3e"],
    "document": {"document_type": "document", "max_line_length": 42},
}
"""V1 session options that must all reach the TUS metadata, whichever member uploads."""


def threaded_server(host: str = "127.0.0.1") -> Iterator[HTTPServer]:
    """A started pytest-httpserver that serves requests in parallel (members of a fleet call at once)."""
    server = HTTPServer(host=host, port=0, threaded=True)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        if server.is_running():
            server.stop()  # werkzeug takes up to half a second to stop: once per session, not per test


@pytest.fixture(scope="session")
def _threaded_upstream() -> Iterator[HTTPServer]:
    yield from threaded_server("127.0.0.1")


@pytest.fixture(scope="session")
def _threaded_media_host() -> Iterator[HTTPServer]:
    yield from threaded_server("127.0.0.2")


@pytest.fixture
def upstream(_threaded_upstream: HTTPServer) -> Iterator[HTTPServer]:
    """The upstream's HTTP server on 127.0.0.1, threaded (gateways and their workers call at once);
    a fixture for every test directory (``tests/conftest.py``), cleared after each test."""
    yield _threaded_upstream
    _threaded_upstream.clear()


@pytest.fixture
def media_server(_threaded_media_host: HTTPServer) -> Iterator[HTTPServer]:
    """A media host for ``media_source`` URLs on 127.0.0.2, a second loopback address (gateways fetch
    from it with ``--allow-private-media``); a fixture for every test directory, cleared after each test."""
    yield _threaded_media_host
    _threaded_media_host.clear()


def serve_held_media(
    server: HTTPServer, path: str, *, size: int = 50_000, hold: float = 10.0
) -> tuple[threading.Event, bytes]:
    """Serve ``size`` random bytes as audio at ``path``, each answer held until the returned event is
    set (at most ``hold`` seconds): a ``media_source`` download still running while the test acts."""
    release = threading.Event()
    data = os.urandom(size)

    def held(request: Request) -> Response:
        release.wait(hold)
        return Response(data, content_type="audio/mpeg")

    server.expect_request(path).respond_with_handler(held)
    return release, data


def child_environment(**extra: str) -> dict[str, str]:
    """The environment of a member process: no SCRIPTIX_* of the test runner's, the repo importable."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SCRIPTIX_")}
    environ.update(PYTHONPATH=str(REPO), SCRIPTIX_COMPAT_WARN="off", **extra)
    return environ


class _Process:
    """A child process whose output lines are collected by a thread (so that reads can time out)."""

    def __init__(self, command: list[str], *, stdin: bool, lines_from: str, environ: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            command,
            cwd=REPO,
            env=environ,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE if lines_from == "stdout" else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.history: list[str] = []  # lines taken from `lines` by printed()
        self.errors: list[str] = []
        out = self.process.stdout if lines_from == "stdout" else self.process.stderr
        threading.Thread(target=self._collect, args=(out, self.lines), daemon=True).start()
        if lines_from == "stdout":
            threading.Thread(target=self._collect, args=(self.process.stderr, None), daemon=True).start()

    def _collect(self, stream: Any, into: queue.Queue[str] | None) -> None:
        for line in stream:
            if into is not None:
                into.put(line.rstrip("\n"))
            else:
                self.errors.append(line.rstrip("\n"))

    def next_line(self) -> str:
        try:
            return self.lines.get(timeout=TIMEOUT)
        except queue.Empty:
            raise AssertionError(f"no answer from the child in {TIMEOUT:g} s:\n" + "\n".join(self.errors)) from None

    def printed(self, text: str) -> bool:
        """Whether the child has printed a line holding ``text`` (lines not yet read are read now)."""
        while True:
            try:
                self.history.append(self.lines.get_nowait())
            except queue.Empty:
                break
        return any(text in line for line in self.history + self.errors)

    def kill(self) -> None:
        """SIGKILL the process (no clean-up of any kind) and reap it."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


class LegacyProcess(_Process):
    """``tests/upload_racer.py``: a LegacyClient process on ``store`` that creates and uploads when told to."""

    def __init__(self, base_url: str, store: str | Path, *, token: str, chunk_size: int) -> None:
        args = {"base_url": base_url, "store": str(store), "token": token, "chunk_size": chunk_size}
        environ = child_environment(SCRIPTIX_COMPAT_CHUNK_SIZE=str(chunk_size))
        super().__init__(
            [sys.executable, str(RACER), json.dumps(args)], stdin=True, lines_from="stdout", environ=environ
        )
        assert self.message() == {"ready": True}

    def message(self) -> dict[str, Any]:
        return dict(json.loads(self.next_line()))

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def create_session(self, language: str, **fields: Any) -> dict[str, Any]:
        """``create_session`` in the child: ``{"status": 200, "answer": ...}`` or the V1 error."""
        self.send(json.dumps({"call": "create_session", "language": language, "fields": fields}))
        return self.message()

    def arm(self, session_id: str, file: Path) -> None:
        """Get ready to upload ``file`` to ``session_id`` on :meth:`go` (see upload_racer.py)."""
        self.send(json.dumps({"session_id": session_id, "file": str(file)}))
        assert self.message() == {"armed": True}

    def go(self) -> None:
        self.send("go")


class Gateway(_Process):
    """``scriptix-compat gateway`` as a process of its own on ``store``; ``url`` once it listens."""

    def __init__(
        self, upstream: str, store: str | Path, *options: str, chunk_size: int | None = None, **environ: str
    ) -> None:
        """``options``: more gateway options (``--claim-lease``, ...); ``environ``: more environment variables."""
        command = [sys.executable, "-m", "compat.cli", "gateway", "--listen", "127.0.0.1:0"]
        command += ["--upstream", upstream, "--store", str(store), *options]
        extra = {"SCRIPTIX_COMPAT_CHUNK_SIZE": str(chunk_size)} if chunk_size else {}
        super().__init__(command, stdin=False, lines_from="stderr", environ=child_environment(**extra, **environ))
        while True:
            line = self.next_line()
            found = re.match(r"scriptix-compat gateway: listening on (http://[^\s;]+)", line)
            if found:
                self.url = found.group(1)
                return


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (a gateway's worker processes), from /proc."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            children = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            found += [child, *descendants(child)]
    return found


def kill_every_process_of(gateway: Any) -> None:
    """SIGKILL a gateway process (this module's :class:`Gateway` or the gateway tests' ``GatewayProcess``):
    its worker processes (where uploads and jobs run) first, then the parent; wait until all are gone."""
    workers = descendants(gateway.process.pid)
    for pid in workers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    gateway.kill()  # SIGKILL, and reaped
    deadline = time.monotonic() + 10
    while any(process_start(pid) is not None for pid in workers):  # gone (or a zombie) once reaped by init
        assert time.monotonic() < deadline, "the gateway's workers outlived the SIGKILL"
        time.sleep(0.02)


def upstream_count(fake: FakeV3) -> tuple[int, int]:
    """TUS creations and PATCH body bytes the upstream has received so far."""
    creations = fake.count("POST", "tus-create")
    patched = sum(size for method, route, size in fake.requests if method == "PATCH" and route == "tus-upload")
    return creations, patched


def round_problems(
    number: int, fake: FakeV3, session_id: str, data: bytes, before: tuple[int, int], answers: list[dict[str, Any]]
) -> list[str]:
    """What went wrong in one round (nothing, when exactly one upload went up and the other was refused)."""
    problems = []
    creations, patched = upstream_count(fake)
    uploads = [upload for upload in fake.uploads.values() if upload.session_id == session_id]
    if creations - before[0] != 1 or len(uploads) != 1:
        problems.append(f"round {number}: {creations - before[0]} TUS creations for one session")
    if patched - before[1] != len(data):
        problems.append(f"round {number}: {patched - before[1]} bytes sent upstream for a {len(data)}-byte file")
    if len(uploads) == 1 and bytes(uploads[0].data) != data:
        problems.append(f"round {number}: the bytes upstream differ from the file")
    statuses = sorted(answer["status"] for answer in answers)
    if statuses != [200, 400]:
        problems.append(f"round {number}: the two callers got {statuses}, not one 200 and one 400")
    for answer in answers:
        if answer["status"] == 200 and answer["answer"]["result"]["status"] != "uploaded":
            problems.append(f"round {number}: the winner got {answer['answer']}")
        if answer["status"] == 400 and answer["body"] != ALREADY:
            problems.append(f"round {number}: the loser got {answer['body']}")
    return problems


def metadata_problems(metadata: dict[str, str], options: dict[str, Any]) -> list[str]:
    """Which of the V1 ``options`` (as :data:`FLEET_OPTIONS`) the TUS ``metadata`` does not carry."""
    problems = []
    for flag in ("punctuation", "keep_source", "multichannel"):
        wanted = "true" if options.get(flag) else "false"
        if metadata.get(flag) != wanted:
            problems.append(f"{flag}: {metadata.get(flag)!r}, not {wanted!r}")
    document = json.loads(metadata.get("document") or "{}")
    wanted_document = dict(options.get("document") or {})
    wanted_document.update(
        {k: options[k] for k in ("webhook_url", "webhook_method", "webhook_headers") if k in options}
    )
    if document != wanted_document:
        problems.append(f"document: {document}, not {wanted_document}")
    if "document_type" in wanted_document and metadata.get("document_type") != wanted_document["document_type"]:
        problems.append(f"document_type: {metadata.get('document_type')!r}")
    return problems


def upload_problems(fake: FakeV3, session_id: str, data: bytes, options: dict[str, Any]) -> list[str]:
    """What is wrong with the one upload upstream: its bytes, its session, its language (``en``) or
    which of the V1 ``options`` its metadata does not carry (nothing, when all is right)."""
    uploads = list(fake.uploads.values())
    if len(uploads) != 1:
        return [f"{len(uploads)} uploads upstream, not one"]
    upload = uploads[0]
    problems = [] if bytes(upload.data) == data else ["the bytes upstream differ from the file"]
    if (upload.metadata.get("session_id"), upload.metadata.get("language")) != (session_id, "en"):
        problems.append(f"session_id/language: {upload.metadata.get('session_id')}/{upload.metadata.get('language')}")
    return problems + metadata_problems(upload.metadata, options)
