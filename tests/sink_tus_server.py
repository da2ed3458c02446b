"""A minimal TUS server for measuring the client: it streams PATCH bodies to disk, holding
only 64 KiB at a time, so that it can run in its own process and never distort a memory figure.
It also creates sessions (``POST /api/v3/speech-to-text/session``), enough for ``LegacyClient``.

Run: ``python tests/sink_tus_server.py DIR`` — prints ``{"port": N}`` when listening.
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

BLOCK = 64 * 1024


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    directory: Path
    lengths: ClassVar[dict[str, int]] = {}
    sessions: ClassVar[list[str]] = []
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
            self.lengths[upload_id] = int(self.headers["Upload-Length"])
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

    def do_HEAD(self) -> None:
        upload_id = self.path.rsplit("/", 1)[-1]
        if upload_id not in self.lengths:
            self._reply(404)
            return
        size = (self.directory / upload_id).stat().st_size
        self._reply(200, {"Upload-Offset": str(size), "Upload-Length": str(self.lengths[upload_id])})

    def do_PATCH(self) -> None:
        upload_id = self.path.rsplit("/", 1)[-1]
        path = self.directory / upload_id
        remaining = int(self.headers.get("Content-Length", "0"))
        if upload_id not in self.lengths or int(self.headers["Upload-Offset"]) != path.stat().st_size:
            self.rfile.read(remaining)
            self._reply(409)
            return
        with open(path, "ab") as out:
            while remaining:
                block = self.rfile.read(min(BLOCK, remaining))
                if not block:
                    return
                out.write(block)
                remaining -= len(block)
        self._reply(204, {"Upload-Offset": str(path.stat().st_size)})


def main() -> None:
    _Handler.directory = Path(sys.argv[1])
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
