"""Batch webhooks the V1 way: ``{"sessionId", "zoom_id"}`` to the session's ``webhook_url``.

Sent only when a session is ``done``; a 2xx within ``webhook_timeout`` counts, anything else is
retried at 0, 1, 3, 8, 23 and 53 minutes after completion (scriptix-api.md §2.7), compressed by
``webhook_speed``. Each attempt runs on its own daemon thread and contacts the configured URL
only: no proxies from the environment, no redirects followed.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from compat.emulator.scheduler import Scheduler
from compat.urls import is_http_url, webhook_refusal

__all__ = ["WebhookDelivery", "WebhookSender", "WebhookTarget", "refuse_insecure"]

log = logging.getLogger("compat.emulator")

_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
FIXED_HEADERS = ("X-Scriptix-Session", "X-Zoom-Session", "Content-Type")


@dataclass(frozen=True)
class WebhookTarget:
    """Where and how a session's webhook is sent."""

    url: str
    method: str = "POST"
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_fields(
        cls, fields: Mapping[str, Any], *, where: str = "", prefix: str = "webhook", public_only: bool = False
    ) -> WebhookTarget | None:
        """Read ``webhook_url``/``webhook_method``/``webhook_headers``; ``ValueError`` names a bad field.

        Checked in the shim's order and words (url, method, headers, then "requires webhook_url").
        ``prefix="callback"`` reads the Zoom Media names ``callback_url``/``callback_method``/``callback_headers``.
        ``public_only``: refuse a URL V1 would not call (:func:`compat.urls.webhook_refusal`) right
        after the URL's form, as the shim's Batch V1 checks do.
        """
        f = f"{where}{prefix}"
        url, method, headers = (
            fields.get(f"{prefix}_url"),
            fields.get(f"{prefix}_method"),
            fields.get(f"{prefix}_headers"),
        )
        if url is not None and not is_http_url(url):
            raise ValueError(f"'{f}_url' must be an http(s) URL")
        if url is not None and public_only:
            refuse_insecure(url, f"{f}_url")
        if method is not None and (not isinstance(method, str) or method.upper() not in ("POST", "PUT")):
            raise ValueError(f"'{f}_method' must be POST or PUT")
        parsed: list[tuple[str, str]] = []
        if headers is not None:
            if not isinstance(headers, list):
                raise ValueError(f"'{f}_headers' must be a list of \"Name: value\" strings")
            for line in headers:
                if not isinstance(line, str) or _CONTROL.search(line.replace("\t", " ")):
                    raise ValueError(f"'{f}_headers' entries must be single-line strings")
                name, sep, value = line.partition(":")
                if not sep or name != name.strip() or not _HEADER_NAME.fullmatch(name) or not value.strip():
                    raise ValueError(f"'{f}_headers' entries must look like \"Name: value\"")
                parsed.append((name, value.strip()))
        if url is None:
            if method is not None or headers is not None:
                raise ValueError(f"'{f}_method' and '{f}_headers' require {prefix}_url")
            return None
        return cls(url=url, method=(method or "POST").upper(), headers=tuple(parsed))

    def request_headers(self, session_id: str) -> dict[str, str]:
        """Custom headers first; the fixed ones cannot be overridden."""
        fixed = {"X-Scriptix-Session": session_id, "X-Zoom-Session": session_id, "Content-Type": "application/json"}
        lowered = {name.lower() for name in fixed}
        headers = {name: value for name, value in self.headers if name.lower() not in lowered}
        headers.update(fixed)
        return headers


def refuse_insecure(url: str, where: str) -> None:
    """``ValueError`` (naming ``where``) for a URL V1 would not call back: the shim's rule and words."""
    refusal = webhook_refusal(url, where)
    if refusal is not None:
        raise ValueError(refusal)


@dataclass(frozen=True)
class WebhookDelivery:
    """One attempt: ``status`` is the receiver's answer (``None``: none came, see ``error``).

    ``due`` is when the attempt was due, in seconds after completion (the compressed schedule);
    ``started_at`` and ``at`` are Unix times of its start and its end.
    """

    session_id: str
    attempt: int
    url: str
    method: str
    status: int | None
    error: str | None
    at: float
    due: float = 0.0
    started_at: float = 0.0

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _warn_if_not_public_https(url: str) -> None:
    if webhook_refusal(url, "webhook_url") is not None:
        parts = urlsplit(url)
        log.warning(
            "webhook URL %s would be refused by Scriptix (HTTPS to a public host name only); the emulator sends it",
            f"{parts.scheme}://{parts.hostname or ''}{parts.path}",
        )


class WebhookSender:
    """Schedules and sends webhooks; keeps a record of every attempt."""

    def __init__(
        self,
        scheduler: Scheduler,
        *,
        offsets: Sequence[float],
        timeout: float,
        still_wanted: Callable[[str], bool],
    ) -> None:
        self._scheduler = scheduler
        self._offsets = tuple(offsets)
        self._timeout = timeout
        self._still_wanted = still_wanted
        self._lock = threading.Lock()
        self._deliveries: list[WebhookDelivery] = []
        self._stopped = threading.Event()

    @property
    def deliveries(self) -> list[WebhookDelivery]:
        """Every attempt so far, oldest first."""
        with self._lock:
            return list(self._deliveries)

    def send(self, session_id: str, target: WebhookTarget) -> None:
        """Start delivering the webhook of a session that just finished."""
        _warn_if_not_public_https(target.url)
        completed = time.monotonic()
        self._scheduler.call_later(self._offsets[0], lambda: self._start(session_id, target, 1, completed))

    def stop(self) -> None:
        """No further attempts (one in flight ends by its own timeout)."""
        self._stopped.set()

    def _start(self, session_id: str, target: WebhookTarget, attempt: int, completed: float) -> None:
        if self._stopped.is_set() or not self._still_wanted(session_id):
            return
        threading.Thread(
            target=self._deliver,
            args=(session_id, target, attempt, completed),
            name=f"scriptix-emulator-webhook-{session_id}-{attempt}",
            daemon=True,
        ).start()

    def _deliver(self, session_id: str, target: WebhookTarget, attempt: int, completed: float) -> None:
        started_at = time.time()
        status: int | None = None
        error: str | None = None
        body = json.dumps({"sessionId": session_id, "zoom_id": session_id})
        with requests.Session() as session:
            session.trust_env = False  # no proxy from the environment: only ever the given URL
            try:
                response = session.request(
                    target.method,
                    target.url,
                    data=body.encode("utf-8"),
                    headers=target.request_headers(session_id),
                    timeout=self._timeout,
                    allow_redirects=False,
                )
                status = response.status_code
                response.close()
            except requests.RequestException as exc:
                error = type(exc).__name__
        due = self._offsets[attempt - 1]
        record = WebhookDelivery(
            session_id, attempt, target.url, target.method, status, error, time.time(), due, started_at
        )
        with self._lock:
            self._deliveries.append(record)
        if record.delivered:
            log.info("webhook for %s delivered (attempt %d)", session_id, attempt)
            return
        if attempt >= len(self._offsets):
            log.info("webhook for %s abandoned after %d attempts", session_id, attempt)
            return
        delay = completed + self._offsets[attempt] - time.monotonic()
        log.info("webhook for %s failed (%s); attempt %d in %.2f s", session_id, status or error, attempt + 1, delay)
        self._scheduler.call_later(delay, lambda: self._start(session_id, target, attempt + 1, completed))
