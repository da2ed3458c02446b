"""The emulator's WSGI application: routing, authentication, injected faults and the request log.

Every session and upload belongs to the token that made it (``x-zoom-s2t-key: <token>`` or
``Authorization: Bearer <token>``; on the Zoom Media routes also ``X-Zoom-S2T-Token``); another token
sees 404. Which tokens are valid is ``EmulatorOptions.tokens``: any non-empty one by default, a fixed
list in V1 mode; others get 401. Errors on the Zoom Media routes are that API's
``{"error", "error_message"}`` (:mod:`compat.emulator.zoommedia_api`); elsewhere ``{"error"}``.
"""

from __future__ import annotations

import collections
import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from werkzeug.wrappers import Request, Response

from compat import wire
from compat.emulator import admin_api, media_api, sessions_api, tus_api, v1_api, zoommedia_api
from compat.emulator.faults import Faults
from compat.emulator.httputil import ApiError, ConnectionCut, cut_connection, error_response, token_of
from compat.emulator.lifecycle import Lifecycle
from compat.emulator.options import EmulatorOptions
from compat.emulator.scheduler import Scheduler
from compat.emulator.state import State, account_of
from compat.emulator.webhooks import WebhookSender

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["ADMIN_PREFIX", "UNAUTHORIZED", "ZOOM_SESSIONS", "EmulatorApp", "RequestRecord"]

log = logging.getLogger("compat.emulator")

Handler = Callable[["EmulatorApp", Request, str, str], Response]
AdminHandler = Callable[["EmulatorApp", Request], Response]

SESSIONS = "/api/v3/speech-to-text/session"
ZOOM_SESSIONS = "/api/v[12]/speech-to-text/session"
"""The Zoom Media API v1/v2 sessions (a regular expression: both versions are served alike)."""
FILES = "/api/v3/files"
ADMIN_PREFIX = "/_emulator/"
MAX_LOGGED_REQUESTS = 100_000
# V1 documents only "401 Unauthorized"; the shim refuses a missing token with this text, and an
# unknown token's 401 comes from upstream through the shim: one text for both keeps them equal.
UNAUTHORIZED = "Unauthorized: the x-zoom-s2t-key header is missing or invalid"


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern[str]
    methods: Mapping[str, Handler]
    tus: bool = False
    public: bool = False  # served without a token (a kept source, like a storage URL)
    zoommedia: bool = False  # a Zoom Media API route: its token headers and its error shape


def _zoom(pattern: str, methods: Mapping[str, Handler]) -> Route:
    return Route(re.compile(pattern), methods, zoommedia=True)


ROUTES = (
    Route(re.compile(rf"^{SESSIONS}/?$"), {"POST": sessions_api.create_session, "GET": sessions_api.list_sessions}),
    Route(re.compile(rf"^{SESSIONS}/(?P<id>[^/]+)/result/?$"), {"GET": sessions_api.get_result}),
    Route(re.compile(rf"^{SESSIONS}/(?P<id>[^/]+)/align/?$"), {"POST": v1_api.align}),
    Route(
        re.compile(rf"^{SESSIONS}/(?P<id>[^/]+)/?$"),
        {"GET": sessions_api.get_session, "DELETE": sessions_api.delete_session, "PUT": v1_api.put_media},
    ),
    Route(re.compile(rf"^{FILES}/?$"), {"OPTIONS": tus_api.tus_options, "POST": tus_api.create_upload}, tus=True),
    Route(
        re.compile(rf"^{FILES}/(?P<id>[^/]+)$"),
        {
            "HEAD": tus_api.head_upload,
            "PATCH": tus_api.patch_upload,
            "DELETE": tus_api.terminate_upload,
            "GET": tus_api.file_info,
        },
        tus=True,
    ),
    Route(
        re.compile(rf"^{media_api.MEDIA_PREFIX}/(?P<id>[^/]+)(?:/[^/]*)?$"),
        {"GET": media_api.get_media},
        public=True,
    ),
    _zoom(rf"^{ZOOM_SESSIONS}/?$", {"POST": zoommedia_api.create_session}),
    _zoom(rf"^{ZOOM_SESSIONS}/(?P<id>[^/]+)/?$", {"POST": zoommedia_api.upload, "GET": zoommedia_api.get_session}),
)
ADMIN_ROUTES: Mapping[tuple[str, str], AdminHandler] = {
    ("GET", "health"): admin_api.health,
    ("GET", "state"): admin_api.state_summary,
    ("GET", "faults"): admin_api.get_faults,
    ("POST", "faults"): admin_api.set_faults,
}


@dataclass(frozen=True)
class RequestRecord:
    """One request as the emulator saw it; ``status`` is ``None`` when it was cut unanswered."""

    method: str
    path: str
    status: int | None


class EmulatorApp:
    """A WSGI application that behaves like Scriptix V3 (see :mod:`compat.emulator`).

    Serve it with any threaded WSGI server; :class:`compat.emulator.Emulator` does so on
    Werkzeug's. Call :meth:`close` when done (it stops the timers and webhooks).
    """

    def __init__(self, options: EmulatorOptions, storage_dir: Path, faults: Faults | None = None) -> None:
        self.options = options
        self.faults = faults if faults is not None else Faults()
        self.state = State(upload_dir=storage_dir / "uploads", media_dir=storage_dir / "media")
        self.scheduler = Scheduler()
        self.webhooks = WebhookSender(
            self.scheduler,
            offsets=options.webhook_offsets(),
            timeout=options.webhook_timeout,
            still_wanted=self._session_alive,
        )
        self.lifecycle = Lifecycle(
            self.state,
            self.scheduler,
            self.webhooks,
            processing_delay=options.processing_delay,
            transcripts=options.transcripts,
        )
        self.stopping = threading.Event()
        self._log: collections.deque[RequestRecord] = collections.deque(maxlen=MAX_LOGGED_REQUESTS)
        self._log_lock = threading.Lock()

    def close(self) -> None:
        """Stop timers and webhook retries; wake requests held by latency or stall faults."""
        self.stopping.set()
        self.webhooks.stop()
        self.scheduler.stop()

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request answered so far (the latest 100,000), oldest first."""
        with self._log_lock:
            return list(self._log)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        response = self.handle(request)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        """Answer one request (admin routes first, then faults, routing, auth and the endpoint)."""
        route, ident = _match(request.path)
        method = request.method.upper()
        if route is not None and route.tus:
            method = request.headers.get("X-HTTP-Method-Override", method).strip().upper()
        status: int | None = None
        try:
            if request.path.startswith(ADMIN_PREFIX):
                response = self._admin(request)
            else:
                response = self._serve(request, method, route, ident)
                if route is not None and route.tus:
                    response.headers["Tus-Resumable"] = tus_api.TUS_VERSION
            status = response.status_code
        except ConnectionCut:
            cut_connection(request)
            response = Response(status=500)
        with self._log_lock:
            self._log.append(RequestRecord(method, request.path, status))
        return response

    def _serve(self, request: Request, method: str, route: Route | None, ident: str) -> Response:
        latency = self.faults.take_latency()
        if latency > 0:
            self.stopping.wait(latency)
        stall = self.faults.take_stall()
        if stall is not None:
            self.stopping.wait(stall)
            raise ConnectionCut()
        try:
            injected = self.faults.take_status()
            if injected is not None:
                status, retry_after = injected
                message = "rate_limit_exceeded" if status == 429 else "Service Unavailable"
                raise ApiError(status, message, {"Retry-After": str(retry_after)})
            if route is None:
                raise ApiError(404, "Not Found")
            handler = route.methods.get(method)
            if handler is None:
                raise ApiError(405, "Method Not Allowed", {"Allow": ", ".join(sorted(route.methods))})
            account = ""
            if not (route.tus and method == "OPTIONS") and not route.public:
                token = token_of(request, zoommedia_api.TOKEN_HEADERS if route.zoommedia else ())
                if token is None or not self.options.accepts_token(token):
                    raise ApiError(401, wire.ZOOM_UNAUTHORIZED if route.zoommedia else UNAUTHORIZED)
                account = account_of(token)
            return handler(self, request, account, ident)
        except ApiError as error:
            return _error(route, error)
        except ConnectionCut:
            raise
        except Exception:
            log.exception("emulator error on %s %s", method, request.path)
            return _error(route, ApiError(500, "Server Error"))

    def _admin(self, request: Request) -> Response:
        name = request.path[len(ADMIN_PREFIX) :].strip("/")
        handler = ADMIN_ROUTES.get((request.method.upper(), name))
        if handler is None:
            return error_response(404, f"unknown emulator endpoint {request.method} {request.path}")
        try:
            return handler(self, request)
        except ApiError as error:
            return error_response(error.status, error.message, error.headers)

    def _session_alive(self, session_id: str) -> bool:
        with self.state.lock:
            session = self.state.sessions.get(session_id)
            return session is not None and not session.deleted


def _error(route: Route | None, error: ApiError) -> Response:
    if route is not None and route.zoommedia:
        return zoommedia_api.error_response(error)
    return error_response(error.status, error.message, error.headers)


def _match(path: str) -> tuple[Route | None, str]:
    for route in ROUTES:
        found = route.pattern.match(path)
        if found is not None:
            return route, found.groupdict().get("id") or ""
    return None, ""
