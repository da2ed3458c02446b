"""The emulator's memory: sessions and uploads, each owned by one account, behind one lock.

An account is a keyed digest of the token that made it; the store never holds a token.
Everything outside this module reads state through immutable snapshots.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from compat.emulator.media import MediaInfo
from compat.emulator.webhooks import WebhookTarget

__all__ = [
    "SessionRecord",
    "SessionSnapshot",
    "State",
    "UploadRecord",
    "UploadSnapshot",
    "account_of",
    "iso_time",
]

_ACCOUNT_KEY = secrets.token_bytes(16)


def account_of(token: str) -> str:
    """The account a token stands for (a keyed hash: equal tokens, equal accounts; no token kept)."""
    return hashlib.blake2b(token.encode("utf-8"), key=_ACCOUNT_KEY, digest_size=8).hexdigest()


def iso_time(timestamp: float | None) -> str | None:
    """``2025-01-15T10:00:00Z`` for a Unix time, as the session object shows times."""
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class SessionRecord:
    """A speech-to-text session (mutable; only touched under :attr:`State.lock`)."""

    session_id: str
    number: int
    account: str
    language: str
    options: dict[str, Any]
    created_at: float
    webhook: WebhookTarget | None = None
    status: str = "new"
    session_mode: str = "decode"
    filename: str | None = None
    filetype: str | None = None
    media: MediaInfo | None = None
    media_path: Path | None = None
    script: str | None = None
    results: list[dict[str, Any]] | None = None
    error: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    deleted: bool = False
    receiving: bool = False  # a Zoom Media upload is streaming in (a second one is refused meanwhile)
    # The capability in the session's ``media_url`` (a kept source is fetched without a token).
    media_key: str = field(default_factory=lambda: secrets.token_urlsafe(16))

    @property
    def duration(self) -> float:
        """Seconds of media once processed (0 until then, as the docs say)."""
        if self.status in ("done",) and self.media is not None:
            return self.media.duration
        return 0

    @property
    def media_kind(self) -> str | None:
        """``"audio"``/``"video"`` as the result shows it."""
        if self.media is not None and self.media.kind:
            return self.media.kind
        major = (self.filetype or "").partition("/")[0]
        return major if major in ("audio", "video") else None

    @property
    def media_mime(self) -> str | None:
        """The MIME type the session object shows."""
        if self.filetype:
            return self.filetype
        return self.media.mime if self.media is not None else None

    def flag(self, name: str) -> bool:
        value = self.options.get(name)
        return value is True or (isinstance(value, str) and value.lower() == "true")


@dataclass
class UploadRecord:
    """A TUS upload (mutable; only touched under :attr:`State.lock`, bytes by one PATCH at a time)."""

    upload_id: str
    account: str
    session_id: str
    length: int | None
    metadata: dict[str, str]
    metadata_header: str | None
    path: Path
    created_at: float
    expires_at: float
    offset: int = 0
    busy: bool = False
    completed: bool = False
    expired: bool = False

    @property
    def is_text(self) -> bool:
        """An alignment transcript (``filetype`` ``text/*``) rather than media."""
        return self.metadata.get("filetype", "").lower().startswith("text/")


@dataclass(frozen=True)
class SessionSnapshot:
    """A session as it was when read (for tests and ``/_emulator/state``)."""

    session_id: str
    status: str
    language: str
    filename: str | None
    media_type: str | None
    duration: float
    error: str | None
    deleted: bool
    session_mode: str
    webhook_url: str | None
    size: int | None
    sha256: str | None
    results: list[dict[str, Any]] | None
    upload_ids: tuple[str, ...] = ()
    finished_at: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "status": self.status,
            "language": self.language,
            "filename": self.filename,
            "media_type": self.media_type,
            "duration": self.duration,
            "error": self.error,
            "deleted": self.deleted,
            "session_mode": self.session_mode,
            "webhook_url": self.webhook_url,
            "size": self.size,
            "sha256": self.sha256,
            "upload_ids": list(self.upload_ids),
            "finished_at": iso_time(self.finished_at),
        }


@dataclass(frozen=True)
class UploadSnapshot:
    """A TUS upload as it was when read; ``path`` is the file holding its bytes."""

    upload_id: str
    session_id: str
    length: int | None
    offset: int
    metadata: dict[str, str]
    path: Path
    complete: bool
    expired: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "upload_id": self.upload_id,
            "session_id": self.session_id,
            "length": self.length,
            "offset": self.offset,
            "metadata": dict(self.metadata),
            "complete": self.complete,
            "expired": self.expired,
        }


_Owned = TypeVar("_Owned", SessionRecord, UploadRecord)


@dataclass
class State:
    """Every session and upload, and the lock that guards them."""

    upload_dir: Path
    media_dir: Path
    lock: threading.RLock = field(default_factory=threading.RLock)
    sessions: dict[str, SessionRecord] = field(default_factory=dict)
    uploads: dict[str, UploadRecord] = field(default_factory=dict)
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.upload_dir.mkdir(parents=True, exist_ok=True)
        self.media_dir.mkdir(parents=True, exist_ok=True)

    # sessions -----------------------------------------------------------------------------

    def new_session(
        self, account: str, language: str, options: dict[str, Any], webhook: WebhookTarget | None
    ) -> SessionRecord:
        """A new ``new`` session with a 26-hex id, like Scriptix's."""
        with self.lock:
            session_id = secrets.token_hex(13)
            while session_id in self.sessions:
                session_id = secrets.token_hex(13)
            record = SessionRecord(
                session_id=session_id,
                number=next(self._numbers),
                account=account,
                language=language,
                options=options,
                created_at=time.time(),
                webhook=webhook,
            )
            self.sessions[session_id] = record
            return record

    def session_for(self, account: str, session_id: str) -> SessionRecord | None:
        """The account's session (deleted ones too), or ``None`` when unknown or someone else's."""
        return self._owned(self.sessions, session_id, account)

    def media_path(self, session_id: str) -> Path:
        """A fresh file for media sent outside TUS (V1 PUT, align, ``media_source``)."""
        return self.media_dir / f"{session_id}-{secrets.token_hex(4)}.bin"

    # uploads ------------------------------------------------------------------------------

    def new_upload(
        self,
        account: str,
        session_id: str,
        *,
        length: int | None,
        metadata: dict[str, str],
        metadata_header: str | None,
        expiry: float,
    ) -> UploadRecord:
        """A new, empty upload (its file exists, zero bytes long)."""
        with self.lock:
            upload_id = secrets.token_hex(16)
            now = time.time()
            record = UploadRecord(
                upload_id=upload_id,
                account=account,
                session_id=session_id,
                length=length,
                metadata=metadata,
                metadata_header=metadata_header,
                path=self.upload_dir / f"{upload_id}.bin",
                created_at=now,
                expires_at=now + expiry,
            )
            record.path.touch()
            self.uploads[upload_id] = record
            return record

    def upload_for(self, account: str, upload_id: str) -> UploadRecord | None:
        """The account's upload, or ``None`` when unknown, terminated or someone else's."""
        return self._owned(self.uploads, upload_id, account)

    def _owned(self, records: Mapping[str, _Owned], key: str, account: str) -> _Owned | None:
        with self.lock:
            record = records.get(key)
            return record if record is not None and record.account == account else None

    def expire_uploads(self, now: float | None = None) -> None:
        """Expire unfinished uploads idle past their ``Upload-Expires``; their bytes are deleted."""
        now = time.time() if now is None else now
        with self.lock:
            for record in self.uploads.values():
                if not record.completed and not record.expired and not record.busy and record.expires_at <= now:
                    record.expired = True
                    record.path.unlink(missing_ok=True)

    def remove_upload(self, record: UploadRecord) -> None:
        """Termination: forget the upload and delete its bytes."""
        with self.lock:
            self.uploads.pop(record.upload_id, None)
        record.path.unlink(missing_ok=True)

    # snapshots ----------------------------------------------------------------------------

    def snapshot_session(self, record: SessionRecord) -> SessionSnapshot:
        with self.lock:
            return SessionSnapshot(
                session_id=record.session_id,
                status=record.status,
                language=record.language,
                filename=record.filename,
                media_type=record.media_kind,
                duration=record.duration,
                error=record.error,
                deleted=record.deleted,
                session_mode=record.session_mode,
                webhook_url=record.webhook.url if record.webhook else None,
                size=record.media.size if record.media else None,
                sha256=record.media.sha256 if record.media else None,
                results=record.results,
                upload_ids=tuple(u.upload_id for u in self.uploads.values() if u.session_id == record.session_id),
                finished_at=record.finished_at,
            )

    def snapshot_upload(self, record: UploadRecord) -> UploadSnapshot:
        with self.lock:
            return UploadSnapshot(
                upload_id=record.upload_id,
                session_id=record.session_id,
                length=record.length,
                offset=record.offset,
                metadata=dict(record.metadata),
                path=record.path,
                complete=record.completed,
                expired=record.expired,
            )

    def sessions_snapshot(self) -> dict[str, SessionSnapshot]:
        with self.lock:
            return {sid: self.snapshot_session(record) for sid, record in self.sessions.items()}

    def uploads_snapshot(self) -> dict[str, UploadSnapshot]:
        with self.lock:
            return {uid: self.snapshot_upload(record) for uid, record in self.uploads.items()}
