"""A scripted fake of Scriptix V3 on pytest-httpserver: sessions, results and a stateful TUS server.

Faults are queued per route and consumed in order, e.g.::

    fake.fail("POST", "tus-create", 503)
    fake.fail("PATCH", "tus-upload", 503, 503, "drop")

A fault is an HTTP status (int), ``(status, {headers})``, ``"drop"`` (store part of the body,
then cut the TCP connection), ``("stall", seconds)``, or ``"pass"`` (answer normally).

``FakeV3(..., defer_length=True)`` advertises ``creation-defer-length`` and takes
``Upload-Defer-Length: 1`` (the length then comes with a PATCH, once, as ``@tus/server`` wants);
by default it advertises only ``creation,termination`` and refuses a deferred length with 400.

``FakeV3(..., finish_uploaded=True)``: a session whose media upload is complete reads ``completed``
(V1: ``done``) from then on, as if transcribed at once.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import socket
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

SESSION_PATH = "/api/v3/speech-to-text/session"
FILES_PATH = "/api/v3/files/"

Fault = Any


@dataclass
class FakeUpload:
    id: str
    length: int | None  # None: deferred, not declared yet
    metadata: dict[str, str]
    token: str
    data: bytearray = field(default_factory=bytearray)
    session_id: str | None = None
    deferred: bool = False  # created with Upload-Defer-Length: 1

    @property
    def complete(self) -> bool:
        return self.length is not None and len(self.data) == self.length


@dataclass
class FakeSession:
    id: str
    token: str
    fields: dict[str, Any]
    status: str = "new"
    deleted: bool = False


class FakeV3:
    """Registers handlers on ``server`` that behave like Scriptix V3 (as documented)."""

    def __init__(
        self,
        server: HTTPServer,
        *,
        token: str = "test-token",
        absolute_location: bool = False,
        defer_length: bool = False,
        finish_uploaded: bool = False,
    ) -> None:
        self.server = server
        self.finish_uploaded = finish_uploaded
        self.token = token
        self.absolute_location = absolute_location
        self.defer_length = defer_length
        self.sessions: dict[str, FakeSession] = {}
        self.uploads: dict[str, FakeUpload] = {}
        self.faults: dict[tuple[str, str], deque[Fault]] = defaultdict(deque)
        self.requests: list[tuple[str, str, int]] = []  # (method, route, body bytes received)
        self.session_lookups_before_assigned = 0
        self.rejected_tokens: set[str] = set()  # any other non-empty token is a valid account
        self.v1_calls: list[str] = []  # legacy calls that reached "V3" (V1-only, Zoom Media): must stay empty
        self.accept_align = False  # True: answer the V1 multipart /align (for the passthrough option)
        self.align_bodies: list[tuple[str, bytes]] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        server.expect_request(re.compile(r"^/api/v3/.*")).respond_with_handler(self._dispatch)
        server.expect_request(re.compile(r"^/api/v[12]/.*")).respond_with_handler(self._zoom_media)

    @property
    def base_url(self) -> str:
        return self.server.url_for("/").rstrip("/")

    def fail(self, method: str, route: str, *faults: Fault) -> None:
        """Queue ``faults`` for the next requests of ``method`` on ``route``.

        Routes: ``session-create``, ``session``, ``result``, ``tus-create``, ``tus-upload``
        (PATCH), ``tus-head``, ``tus-info`` (GET), ``tus-delete``.
        """
        self.faults[(method, route)].extend(faults)

    def count(self, method: str, route: str) -> int:
        return sum(1 for m, r, _ in self.requests if m == method and r == route)

    def only_upload(self) -> FakeUpload:
        assert len(self.uploads) == 1, f"expected one upload, found {len(self.uploads)}"
        return next(iter(self.uploads.values()))

    # dispatch -----------------------------------------------------------------------------

    def _dispatch(self, request: Request) -> Response:
        route, ident = self._route(request)
        with self._lock:
            queued = self.faults.get((request.method, route))
            fault = queued.popleft() if queued else None
        if fault is not None:
            response = self._apply_fault(fault, request, route, ident)
            if response is not None:
                self.requests.append((request.method, route, 0))
                return response
        if not self._caller(request) or self._caller(request) in self.rejected_tokens:
            self.requests.append((request.method, route, 0))
            return _json({"error": "Unauthorized"}, 401)
        handler = getattr(self, "_" + route.replace("-", "_"), None)
        if handler is None:
            self.requests.append((request.method, route, 0))
            return _json({"error": "Not found"}, 404)
        response = handler(request, ident)
        return response

    def _route(self, request: Request) -> tuple[str, str | None]:
        path = request.path
        if path.rstrip("/") == SESSION_PATH and request.method == "POST":
            return "session-create", None
        match = re.match(rf"^{SESSION_PATH}/([^/]+)/align$", path)
        if match:
            return "align", match.group(1)
        match = re.match(rf"^{SESSION_PATH}/([^/]+)(/result)?$", path)
        if match:
            if request.method in ("PUT", "POST") and not match.group(2):
                return "v1-put", match.group(1)
            return ("result" if match.group(2) else "session"), match.group(1)
        if path.rstrip("/") == FILES_PATH.rstrip("/"):
            return ("tus-create" if request.method == "POST" else "tus-options"), None
        match = re.match(rf"^{FILES_PATH}([^/]+)$", path)
        if match:
            kind = {"HEAD": "tus-head", "PATCH": "tus-upload", "GET": "tus-info", "DELETE": "tus-delete"}
            return kind.get(request.method, "unknown"), match.group(1)
        return "unknown", None

    def _apply_fault(self, fault: Fault, request: Request, route: str, ident: str | None) -> Response | None:
        if fault == "pass":
            return None
        if fault == "drop":
            if route == "tus-upload" and ident in self.uploads:
                upload = self.uploads[ident]
                body = request.get_data()
                offset = int(request.headers.get("Upload-Offset", "-1"))
                if offset == len(upload.data):
                    declared = request.headers.get("Upload-Length")
                    if declared is not None and upload.length is None:
                        upload.length = int(declared)  # @tus/server declares the length before it writes
                    upload.data.extend(body[: len(body) // 2])
            sock = request.environ.get("werkzeug.socket")
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
            return Response(status=500)
        if isinstance(fault, tuple) and fault[0] == "stall":
            time.sleep(float(fault[1]))
            return None
        if isinstance(fault, tuple):
            status, headers = fault
            return _json({"error": f"injected {status}"}, int(status), headers)
        return _json({"error": f"injected {fault}"}, int(fault))

    def _zoom_media(self, request: Request) -> Response:
        """The Zoom Media API v1/v2 (``/api/v1|v2/…``): retired, as Scriptix answers it; recorded as legacy."""
        self.v1_calls.append(f"{request.method} {request.path}")
        self.requests.append((request.method, "zoom-media", 0))
        return _json({"error": "Gone: the Zoom Media API v1/v2 was retired; use the V3 API"}, 410)

    # sessions -----------------------------------------------------------------------------

    def _v1_put(self, request: Request, ident: str | None) -> Response:
        self.v1_calls.append(f"{request.method} {request.path}")
        self.requests.append((request.method, "v1-put", 0))
        return _json({"error": "Gone: upload through TUS at /api/v3/files/"}, 410)

    def _align(self, request: Request, ident: str | None) -> Response:
        self.requests.append((request.method, "align", 0))
        if not self.accept_align:
            self.v1_calls.append(f"{request.method} {request.path}")
            return _json({"error": "Gone: upload through TUS at /api/v3/files/"}, 410)
        self.align_bodies.append((request.headers.get("Content-Type", ""), request.get_data()))
        return _json({"result": {"session_id": ident, "status": "uploaded"}})

    def _session_create(self, request: Request, _: str | None) -> Response:
        fields = request.get_json(silent=True)
        if isinstance(fields, dict) and "media_source" in fields:
            self.v1_calls.append("POST session with media_source")
            self.requests.append(("POST", "session-create", 0))
            return _json({"error": "Gone: media_source was removed; upload through TUS"}, 410)
        if not isinstance(fields, dict) or not isinstance(fields.get("language"), str):
            self.requests.append(("POST", "session-create", 0))
            return _json({"error": "Body Invalid"}, 422)
        session = FakeSession(id=f"{next(self._ids):026x}", token=self._caller(request), fields=fields)
        self.sessions[session.id] = session
        self.requests.append(("POST", "session-create", len(request.get_data())))
        return _json({"result": {"session_id": session.id, "status": session.status}})

    def _session(self, request: Request, ident: str | None) -> Response:
        self.requests.append((request.method, "session", 0))
        session = self.sessions.get(ident or "")
        if session is None or session.token != self._caller(request):
            return _json({"error": "The requested session was not found"}, 404)
        if session.deleted and request.method != "DELETE":
            return _json({"error": "The requested session was not found"}, 404)
        if request.method == "DELETE":
            if session.deleted:
                return _json({"error": "The transcript is already marked as removed"}, 400)
            session.deleted = True
            return _json({"result": {"session_id": session.id, "status": "deleted"}})
        return _json({"session_id": session.id, "status": session.status, **session.fields})

    def _result(self, request: Request, ident: str | None) -> Response:
        self.requests.append((request.method, "result", 0))
        session = self.sessions.get(ident or "")
        if session is None or session.token != self._caller(request):
            return _json({"error": "The requested session was not found"}, 404)
        result: dict[str, Any] = {"session_id": session.id, "status": session.status, "duration": 0, "error": None}
        media = next((u for u in self.uploads.values() if u.session_id == session.id and u.complete), None)
        if media is not None and self.finish_uploaded and session.status == "new":
            session.status = result["status"] = "completed"
        if media is not None:
            result.update(filename=media.metadata.get("filename"), media_type=media.metadata.get("filetype"))
        if session.status in ("done", "completed", "finished"):
            result["duration"] = 2
            result["results"] = [
                {
                    "result": [["hello", 0.0, 0.5, 0.98], ["world", 0.6, 1.2, 0.95]],
                    "speaker": "unk",
                    "text": "hello world",
                    "sconf": 0.85,
                    "channel": 0,
                }
            ]
        return _json({"count": 1, "total_results": 1, "result": result})

    # TUS ----------------------------------------------------------------------------------

    def _tus_create(self, request: Request, _: str | None) -> Response:
        self.requests.append(("POST", "tus-create", 0))
        if request.headers.get("Tus-Resumable") != "1.0.0":
            return Response(status=412, headers={"Tus-Version": "1.0.0"})
        metadata_header = request.headers.get("Upload-Metadata")
        if metadata_header is not None and not metadata_header.strip():
            return _json({"error": "Invalid upload-metadata"}, 400)
        deferred = request.headers.get("Upload-Defer-Length")
        if deferred is not None:
            if not self.defer_length or deferred != "1" or "Upload-Length" in request.headers:
                return _json({"error": "Upload-Defer-Length is not supported here"}, 400)
            length = None
        else:
            length = int(request.headers["Upload-Length"])
        upload = FakeUpload(
            id=f"f{next(self._ids):08d}",
            length=length,
            metadata=_decode_metadata(metadata_header or ""),
            token=self._caller(request),
            deferred=length is None,
        )
        upload.session_id = upload.metadata.get("session_id")
        self.uploads[upload.id] = upload
        location = f"{FILES_PATH}{upload.id}"
        if self.absolute_location:
            location = self.base_url + location
        return Response(status=201, headers={"Location": location, "Tus-Resumable": "1.0.0"})

    def _tus_head(self, request: Request, ident: str | None) -> Response:
        self.requests.append(("HEAD", "tus-head", 0))
        upload = self.uploads.get(ident or "")
        if upload is None or upload.token != self._caller(request):
            return Response(status=404)
        headers = {"Upload-Offset": str(len(upload.data)), "Cache-Control": "no-store", "Tus-Resumable": "1.0.0"}
        if upload.length is None:
            headers["Upload-Defer-Length"] = "1"
        else:
            headers["Upload-Length"] = str(upload.length)
        return Response(status=200, headers=headers)

    def _tus_upload(self, request: Request, ident: str | None) -> Response:
        body = request.get_data()
        self.requests.append(("PATCH", "tus-upload", len(body)))
        upload = self.uploads.get(ident or "")
        if upload is None or upload.token != self._caller(request):
            return Response(status=404)
        if request.headers.get("Content-Type") != "application/offset+octet-stream":
            return Response(status=415)
        if int(request.headers.get("Upload-Offset", "-1")) != len(upload.data):
            return Response(status=409)
        declared = request.headers.get("Upload-Length")
        if declared is not None:
            # Like @tus/server: only an upload whose length is still deferred, and only once.
            if upload.length is not None or int(declared) < len(upload.data):
                return _json({"error": "Upload-Length cannot be set now"}, 400)
            upload.length = int(declared)
        if upload.length is not None and len(upload.data) + len(body) > upload.length:
            return Response(status=413)
        upload.data.extend(body)
        if upload.complete and upload.session_id is None:
            upload.session_id = f"{next(self._ids):026x}"
        return Response(status=204, headers={"Upload-Offset": str(len(upload.data)), "Tus-Resumable": "1.0.0"})

    def _tus_info(self, request: Request, ident: str | None) -> Response:
        self.requests.append(("GET", "tus-info", 0))
        upload = self.uploads.get(ident or "")
        if upload is None or upload.token != self._caller(request):
            return _json({"error": "Not found"}, 404)
        session_id = upload.session_id
        if self.session_lookups_before_assigned > 0:
            self.session_lookups_before_assigned -= 1
            session_id = None
        return _json(
            {"count": 1, "total_results": 1, "result": {"session_id": session_id, "metadata": upload.metadata}}
        )

    def _tus_delete(self, request: Request, ident: str | None) -> Response:
        self.requests.append(("DELETE", "tus-delete", 0))
        upload = self.uploads.get(ident or "")
        if upload is None or upload.token != self._caller(request):
            return Response(status=404)
        del self.uploads[upload.id]
        return Response(status=204, headers={"Tus-Resumable": "1.0.0"})

    def _tus_options(self, request: Request, _: str | None) -> Response:
        self.requests.append((request.method, "tus-options", 0))
        extensions = "creation,creation-defer-length,termination" if self.defer_length else "creation,termination"
        return Response(
            status=204,
            headers={
                "Tus-Version": "1.0.0",
                "Tus-Extension": extensions,
                "Tus-Max-Size": "1073741824",
            },
        )

    @staticmethod
    def _caller(request: Request) -> str:
        key = request.headers.get("x-zoom-s2t-key")
        if key:
            return key
        return request.headers.get("Authorization", "").removeprefix("Bearer ")


def _decode_metadata(header: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in header.split(","))):
        key, _, value = pair.partition(" ")
        result[key] = base64.b64decode(value).decode("utf-8") if value else ""
    return result


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers or {}, content_type="application/json")
