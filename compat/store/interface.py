"""The one interface of the state store: every operation the shim needs of the state it keeps.

:class:`Store` names them all; each backend implements every one (:class:`~compat.store.SQLiteStore`,
:class:`~compat.store.postgresql.PostgreSQLStore`). Callers hold a ``Store`` and never write SQL:
the store owns its tables and its statements, the callers own what the rows mean (sealing the
options, renewing the leases).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, TypedDict

__all__ = ["SessionChanges", "Store", "StoredClaim", "StoredReceipt", "StoredSession", "TransferState"]

TransferState = Literal["new", "uploading", "uploaded", "failed"]
"""Where a session's media stands: not sent yet, going up (under a claim), up, or failed."""


@dataclass(frozen=True)
class StoredSession:
    """One session as the store keeps it; its V1 options still sealed (only the owner's token opens them)."""

    session_id: str
    owner: str
    sealed_options: bytes
    state: TransferState
    filename: str | None
    media_type: str | None
    error: str | None


@dataclass(frozen=True)
class StoredClaim:
    """Where a session's upload claim stands: its state, its holder (None when unclaimed) and the end
    of its lease (epoch seconds on the store's clock; None when unclaimed)."""

    state: TransferState
    holder: str | None
    until: float | None


@dataclass(frozen=True)
class StoredReceipt:
    """Bytes ``[offset, offset + length)`` of a session's media upload at ``upload_url``, confirmed by
    the server, and their digest (a :class:`compat.v3.receipts.ChunkReceipt` with its upload);
    ``upload_length`` is that upload's length (None while it is deferred)."""

    upload_url: str
    offset: int
    length: int
    digest: str
    upload_length: int | None = None


class SessionChanges(TypedDict, total=False):
    """The fields of a session that :meth:`Store.update_session` may change."""

    state: TransferState
    filename: str | None
    media_type: str | None
    error: str | None


class Store(Protocol):
    """The shim's state: meta (schema version, HMAC key), resume URLs, sessions and their claims,
    transcribe jobs.

    Every operation is atomic on its own. A failure of the store itself (disk full, read-only,
    locked for too long, connection lost) raises :class:`compat.errors.StoreError` (503).
    "Now" is the store's clock: a lease is given as a length, never as an end time.
    """

    @property
    def schema_version(self) -> int:
        """The version of the store's schema (always the code's own once the store is open)."""
        ...

    def recorded_schema_version(self) -> int | None:
        """The schema version the store records now, read from it (a round trip: a store that cannot
        be reached raises :class:`~compat.errors.StoreError`); ``None`` when it records none."""
        ...

    def close(self) -> None:
        """Release the connection; the object is unusable afterwards."""
        ...

    # meta --------------------------------------------------------------------------------------

    def token_digest(self, token: str | None) -> str:
        """A keyed hash of ``token`` (under the store's own random key) that binds state to it."""
        ...

    # resume URLs: tuspy's Storage interface, plus what the shim needs beyond it -----------------

    def get_item(self, key: str) -> str | None:
        """The upload URL stored under ``key``, if any."""
        ...

    def set_item(self, key: str, url: str) -> None:
        """Store ``url`` under ``key`` (replacing what was there)."""
        ...

    def remove_item(self, key: str) -> None:
        """Forget ``key`` (no error if unknown)."""
        ...

    def remove_url(self, url: str) -> None:
        """Forget every key that points at ``url`` (after termination or completion)."""
        ...

    def pending_uploads(self) -> list[tuple[str, str, float]]:
        """``(key, url, created_at)`` of every upload that has not completed, oldest first."""
        ...

    # sessions ----------------------------------------------------------------------------------

    def put_session(
        self, session_id: str, owner: str, sealed_options: bytes, state: TransferState, *, replace: bool
    ) -> bool:
        """Record a session; True if recorded.

        With ``replace`` an existing record of the same id is replaced (and its claim dropped);
        without it an existing record is kept untouched and the answer is False.
        """
        ...

    def get_session(self, session_id: str) -> StoredSession | None:
        """The session's record, or None if the store does not know it."""
        ...

    def update_session(self, session_id: str, changes: SessionChanges) -> None:
        """Change some fields of a session (no error if unknown)."""
        ...

    def delete_session(self, session_id: str) -> None:
        """Forget a session and its upload receipts (no error if unknown)."""
        ...

    # the upload claim on a session (see compat.sessions) ----------------------------------------

    def claim_session(
        self,
        session_id: str,
        owner: str,
        holder: str,
        lease: float,
        *,
        takeover_only: bool,
        filename: str | None,
        media_type: str | None,
    ) -> TransferState | None:
        """Take the upload claim of ``owner``'s session for ``holder``, for ``lease`` seconds, atomically.

        It is to be had when the session is ``new`` or ``failed``, or ``uploading`` under a lease
        that ran out (with ``takeover_only``, only the latter). The session becomes ``uploading``
        (with ``filename``/``media_type`` when given). Of any number of concurrent callers exactly
        one wins. Returns the state the session had before the claim, or None if not won.
        """
        ...

    def renew_claim(self, session_id: str, holder: str, lease: float) -> bool:
        """Push the lease of ``holder``'s claim out to ``lease`` seconds from now; False if no longer held."""
        ...

    def release_claim(self, session_id: str, holder: str, *, state: TransferState | None, error: str | None) -> bool:
        """End ``holder``'s claim: the session goes back to its state before the claim (or to
        ``state``), ``error`` recorded when given; False if ``holder`` no longer held it."""
        ...

    def release_lapsed_claim(self, session_id: str, owner: str) -> bool:
        """End a claim on ``owner``'s session whose lease ran out; False if there was none."""
        ...

    def finish_claim(self, session_id: str, *, media_type: str | None) -> None:
        """The media is up: the session is ``uploaded`` whoever holds the claim by now."""
        ...

    def get_claim(self, session_id: str) -> StoredClaim | None:
        """The session's state, claim holder and lease end; None if the store does not know it."""
        ...

    def take_over_claim(
        self,
        session_id: str,
        owner: str,
        dead_holder: str,
        holder: str,
        lease: float,
        *,
        filename: str | None,
        media_type: str | None,
    ) -> TransferState | None:
        """Take over the claim ``dead_holder`` holds on ``owner``'s ``uploading`` session, lease or not
        (the caller knows that holder's process is gone), atomically: of any number of callers exactly
        one wins. Returns the state before the claim, or None if not won (the claim changed meanwhile)."""
        ...

    # upload receipts: a digest per confirmed chunk of a session's media upload --------------------

    def receipts_of(self, session_id: str) -> list[StoredReceipt]:
        """The session's upload receipts, by offset."""
        ...

    def add_receipt(self, session_id: str, receipt: StoredReceipt) -> None:
        """Record a receipt; those of the session at or past its offset are dropped (they belonged to
        bytes the server no longer holds, or to an upload the session no longer has)."""
        ...

    def clear_receipts(self, session_id: str) -> None:
        """Forget the session's upload receipts (its upload was replaced, or none is kept)."""
        ...

    # transcribe jobs: which session a `transcribe` run created (see compat.jobs) -----------------

    def job_session(self, key: str) -> str | None:
        """The session the job ``key`` created, if the store still knows it."""
        ...

    def put_job(self, key: str, session_id: str) -> None:
        """Record that the job ``key`` created ``session_id`` (replacing what was there)."""
        ...

    def delete_job(self, key: str) -> None:
        """Forget the job ``key`` (no error if unknown)."""
        ...

    def delete_jobs_of_session(self, session_id: str) -> None:
        """Forget every job that points at ``session_id``."""
        ...
