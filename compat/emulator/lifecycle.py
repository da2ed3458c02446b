"""What happens to a session once its media is in: ``uploaded`` -> ``processing`` -> ``done``/``failed``.

Half of ``processing_delay`` after the media is complete the session is ``processing``; after the
whole delay it is ``done`` with a transcript (and its webhook starts), or ``failed`` with an
``error`` when the media is unreadable (see :mod:`compat.emulator.media`; no webhook then).
A session never given media stays ``new``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass
from pathlib import Path

from compat.emulator.media import MediaInfo, analyse_media
from compat.emulator.scheduler import Scheduler
from compat.emulator.state import SessionRecord, State
from compat.emulator.transcript import make_results
from compat.emulator.webhooks import WebhookSender

__all__ = ["MAX_SCRIPT_BYTES", "Lifecycle"]

log = logging.getLogger("compat.emulator")

MAX_SCRIPT_BYTES = 1024 * 1024


@dataclass(eq=False)
class Lifecycle:
    """Moves sessions through their states on the scheduler's thread."""

    state: State
    scheduler: Scheduler
    webhooks: WebhookSender
    _: KW_ONLY
    processing_delay: float
    transcripts: Mapping[str, str]

    def media_ready(
        self, session: SessionRecord, path: Path, *, filename: str | None, filetype: str | None
    ) -> MediaInfo:
        """The session's media is complete at ``path``: analyse it, mark ``uploaded``, start processing.

        Media arriving for a session that already has some (or was deleted) is analysed but ignored.
        """
        info = analyse_media(path, filetype)
        with self.state.lock:
            if session.deleted or session.status != "new":
                log.info("media for session %s ignored (status %s)", session.session_id, session.status)
                return info
            session.media, session.media_path = info, path
            session.filename, session.filetype = filename, filetype or info.mime
            session.status = "uploaded"
            session.started_at = time.time()
        half = self.processing_delay / 2
        self.scheduler.call_later(half, lambda: self._processing(session))
        self.scheduler.call_later(self.processing_delay, lambda: self._finish(session))
        return info

    def script_ready(self, session: SessionRecord, path: Path) -> None:
        """An alignment transcript for the session: its words replace generated ones."""
        with open(path, "rb") as stream:
            text = stream.read(MAX_SCRIPT_BYTES).decode("utf-8", errors="replace")
        with self.state.lock:
            session.script = text
            session.session_mode = "align"

    def _processing(self, session: SessionRecord) -> None:
        with self.state.lock:
            if session.status == "uploaded" and not session.deleted:
                session.status = "processing"

    def _finish(self, session: SessionRecord) -> None:
        with self.state.lock:
            if session.deleted or session.status not in ("uploaded", "processing") or session.media is None:
                return
            media = session.media
            script = session.script
            if script is None and session.filename is not None:
                script = self.transcripts.get(session.filename)
            punctuation = session.flag("punctuation")
        results = None
        if media.readable:
            results = make_results(media.duration, media.sha256, script=script, punctuation=punctuation)
        with self.state.lock:
            if session.deleted:
                return
            session.finished_at = time.time()
            if results is None:
                session.status, session.error = "failed", media.error
            else:
                session.status, session.results = "done", results
            webhook = session.webhook if session.status == "done" else None
        log.info("session %s is %s", session.session_id, session.status)
        if webhook is not None:
            self.webhooks.send(session.session_id, webhook)
