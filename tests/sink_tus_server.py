"""A minimal TUS server for measuring the client: it streams PATCH bodies to disk, holding
only 64 KiB at a time, so that it can run in its own process and never distort a memory figure.
It also creates sessions (``POST /api/v3/speech-to-text/session``), enough for ``LegacyClient``.
A PATCH cut off midway keeps the bytes that arrived (as real TUS servers do); ``DELETE`` terminates
an upload; ``GET /_sink/stats`` answers what it received: ``{"created", "terminated", "patched"}``
(``patched``: PATCH body bytes written, over every upload, terminated ones included).
It takes deferred lengths (``Upload-Defer-Length: 1``, the length declared by a later ``PATCH``) and
says so in its ``OPTIONS`` answer (``creation-defer-length``).

Run: ``python tests/sink_tus_server.py DIR [RATE]`` — prints ``{"port": N}`` when listening; with
``RATE`` (bytes a second), each PATCH body is read no faster than that.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

BLOCK = 64 * 1024


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    directory: Path
    lengths: ClassVar[dict[str, int]] = {}
    sessions: ClassVar[list[str]] = []
    terminated: ClassVar[list[str]] = []
    patched: ClassVar[list[int]] = [0]
    rate: ClassVar[float] = 0.0
    lock = threading.Lock()

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _reply(self, status: int, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in {"Tus-Resumable": "1.0.0", "Content-Length": "0", **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()

    def do_POST(self) -> None:
        if self.path.rstrip("/") == "/api/v3/speech-to-text/session":
            self._create_session()
            return
        with self.lock:
            upload_id = f"u{len(self.lengths) + 1}"
            deferred = self.headers.get("Upload-Defer-Length") == "1"
            self.lengths[upload_id] = -1 if deferred else int(self.headers["Upload-Length"])
        (self.directory / upload_id).write_bytes(b"")
        self._reply(201, {"Location": f"/api/v3/files/{upload_id}"})

    def _create_session(self) -> None:
        """Enough of the session endpoint for LegacyClient: one id per created session."""
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with self.lock:
            session_id = f"sinksession{len(self.sessions) + 1}"
            self.sessions.append(session_id)
        body = json.dumps({"result": {"session_id": session_id, "status": "new"}}).encode()
        self.send_response(200)
        for name, value in {"Content-Type": "application/json", "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path != "/_sink/stats":
            self._reply(404)
            return
        with self.lock:
            stats = {"created": len(self.lengths), "terminated": list(self.terminated), "patched": self.patched[0]}
        body = json.dumps(stats).encode()
        self.send_response(200)
        for name, value in {"Content-Type": "application/json", "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_DELETE(self) -> None:
        upload_id = self.path.rsplit("/", 1)[-1]
        with self.lock:
            known = upload_id in self.lengths and upload_id not in self.terminated
            if known:
                self.terminated.append(upload_id)
        if not known:
            self._reply(404)
            return
        (self.directory / upload_id).unlink(missing_ok=True)
        self._reply(204)

    def do_HEAD(self) -> None:
        upload_id = self.path.rsplit("/", 1)[-1]
        if upload_id not in self.lengths or upload_id in self.terminated:
            self._reply(404)
            return
        size = (self.directory / upload_id).stat().st_size
        length = self.lengths[upload_id]
        declared = {"Upload-Defer-Length": "1"} if length < 0 else {"Upload-Length": str(length)}
        self._reply(200, {"Upload-Offset": str(size), **declared})

    def do_OPTIONS(self) -> None:
        self._reply(
            204,
            {"Tus-Version": "1.0.0", "Tus-Extension": "creation,creation-defer-length", "Tus-Max-Size": str(1 << 40)},
        )

    def do_PATCH(self) -> None:
        upload_id = self.path.rsplit("/", 1)[-1]
        path = self.directory / upload_id
        remaining = int(self.headers.get("Content-Length", "0"))
        if upload_id in self.terminated:
            self.rfile.read(remaining)
            self._reply(404)
            return
        if upload_id not in self.lengths or int(self.headers["Upload-Offset"]) != path.stat().st_size:
            self.rfile.read(remaining)
            self._reply(409)
            return
        started, done = time.monotonic(), 0
        declared = self.headers.get("Upload-Length")
        if declared is not None and self.lengths[upload_id] < 0:
            self.lengths[upload_id] = int(declared)
        with open(path, "ab") as out:
            while remaining:
                try:
                    block = self.rfile.read(min(BLOCK, remaining))
                except OSError:
                    block = b""
                if not block:
                    return
                out.write(block)
                out.flush()
                with self.lock:
                    self.patched[0] += len(block)
                remaining -= len(block)
                done += len(block)
                if self.rate:
                    ahead = done / self.rate - (time.monotonic() - started)
                    if ahead > 0:
                        time.sleep(ahead)
        self._reply(204, {"Upload-Offset": str(path.stat().st_size)})


def main() -> None:
    _Handler.directory = Path(sys.argv[1])
    _Handler.rate = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
