"""What the shim remembers of each V1 session it created: owner, V1 options, transfer state.

The owner is a keyed hash of the caller's token. The V1 options (which may hold webhook headers
with credentials) are encrypted with a key derived from the caller's token, so the store alone
cannot reveal them: only a call made with the same token can read them back.

**One upload per session, across processes.** Before media goes up for a session, the caller takes
the session's *claim* (:meth:`SessionBook.claim`): one conditional ``UPDATE`` that turns a ``new``
or ``failed`` session (or an ``uploading`` one whose lease ran out) into ``uploading`` with this
caller as holder. The database runs it atomically, so of any number of callers in any number of
processes sharing the store, exactly one wins; the others change nothing and are refused. The claim
is a *lease*: the holder's process renews it every third of ``lease`` seconds while it holds it
(one thread per book), so a process that was killed stops renewing, and once the lease has run out
the next caller of the same owner takes the claim over (its TUS upload resumes from the server's
offset through the resume key in the store). The holder ends the claim with :meth:`Claim.finish`
(``uploaded``) or :meth:`Claim.release` (the state it had before, at once claimable again).

Every statement of this module is SQL that PostgreSQL runs as well (``ON CONFLICT``, ``excluded``,
``CASE``, ``COALESCE``); the one SQLite-only statement is the column check of :func:`_migrate`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from compat.config import DEFAULT_CLAIM_LEASE
from compat.store import SQLiteStore, StoreError

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

__all__ = ["Claim", "SessionBook", "SessionRecord", "TransferState"]

log = logging.getLogger("compat.sessions")

TransferState = Literal["new", "uploading", "uploaded", "failed"]

# The table as the first release made it; columns added since are in _ADDED_COLUMNS (see _migrate).
_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    options BLOB NOT NULL,
    state TEXT NOT NULL,
    filename TEXT,
    media_type TEXT,
    error TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
"""

_ADDED_COLUMNS = (
    ("claim_holder", "TEXT"),  # who holds the upload claim (a random id per claim), or NULL
    ("claim_until", "REAL"),  # when the claim lapses unless renewed (epoch seconds)
    ("claim_prior", "TEXT"),  # the state the session had before it was claimed (restored on release)
)

# -- the claim, in SQL ---------------------------------------------------------------------------
# A claim lapses when its lease ran out; an 'uploading' row without a lease (written by a version
# before claims, or by remember(state='uploading')) counts as lapsed, as the in-process check
# treated it before.
_LAPSED = "state = 'uploading' AND (claim_until IS NULL OR claim_until < ?)"
_CLAIM_SET = (
    "UPDATE sessions SET state = 'uploading', claim_holder = ?, claim_until = ?,"
    " claim_prior = CASE WHEN state = 'uploading' THEN COALESCE(claim_prior, 'new') ELSE state END,"
    " filename = COALESCE(?, filename), media_type = COALESCE(?, media_type), updated_at = ?"
    " WHERE session_id = ? AND owner = ?"
)
_CLAIM = f"{_CLAIM_SET} AND (state IN ('new', 'failed') OR ({_LAPSED}))"
_TAKE_OVER = f"{_CLAIM_SET} AND {_LAPSED}"
_CLAIMED_PRIOR = "SELECT claim_prior FROM sessions WHERE session_id = ? AND claim_holder = ?"
_RENEW = "UPDATE sessions SET claim_until = ? WHERE session_id = ? AND claim_holder = ? AND state = 'uploading'"
_UNCLAIMED = "claim_holder = NULL, claim_until = NULL, claim_prior = NULL"
_RELEASE = (
    f"UPDATE sessions SET state = COALESCE(?, claim_prior, 'new'), error = COALESCE(?, error), {_UNCLAIMED},"
    " updated_at = ? WHERE session_id = ? AND claim_holder = ?"
)
_RELEASE_LAPSED = (
    f"UPDATE sessions SET state = COALESCE(claim_prior, 'new'), {_UNCLAIMED}, updated_at = ?"
    f" WHERE session_id = ? AND owner = ? AND {_LAPSED}"
)
# The media is up: the session is 'uploaded' whoever holds the claim by now.
_FINISH = (
    f"UPDATE sessions SET state = 'uploaded', media_type = COALESCE(?, media_type), {_UNCLAIMED}, updated_at = ?"
    " WHERE session_id = ?"
)
# -- remembering ---------------------------------------------------------------------------------
_INSERT = "INSERT INTO sessions(session_id, owner, options, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)"
_REMEMBER = (
    f"{_INSERT} ON CONFLICT (session_id) DO UPDATE SET owner = excluded.owner, options = excluded.options,"
    " state = excluded.state, filename = NULL, media_type = NULL, error = NULL,"
    f" {_UNCLAIMED}, created_at = excluded.created_at, updated_at = excluded.updated_at"
)
_ADOPT = f"{_INSERT} ON CONFLICT (session_id) DO NOTHING"


@dataclass
class SessionRecord:
    """One session as the shim knows it."""

    session_id: str
    owner: str
    options: dict[str, Any] = field(default_factory=dict)
    state: TransferState = "new"
    filename: str | None = None
    media_type: str | None = None
    error: str | None = None


class SessionBook:
    """Session records in the shared :class:`SQLiteStore`.

    ``lease`` is the length in seconds of an upload claim (default: ``claim_lease`` of
    :class:`compat.config.Settings`, 30 s).
    """

    def __init__(self, store: SQLiteStore, *, lease: float = DEFAULT_CLAIM_LEASE) -> None:
        if not lease > 0:
            raise ValueError("the claim lease must be a positive number of seconds")
        self.store = store
        self.lease = float(lease)
        for statement in filter(None, (s.strip() for s in _SCHEMA.split(";"))):
            store.execute(statement)
        _migrate(store)
        self._keeper = _LeaseKeeper(self)

    def owner_of(self, token: str) -> str:
        return self.store.token_digest(token)

    def _cipher(self, token: str) -> Fernet:
        from cryptography.fernet import Fernet  # imported on use: V3-only callers never pay for it

        key = hmac.new(self.store.token_digest(token).encode(), b"v1-options", hashlib.sha256).digest()
        return Fernet(base64.urlsafe_b64encode(key))

    def _row(self, token: str, session_id: str, options: dict[str, Any], state: TransferState) -> tuple[Any, ...]:
        sealed = self._cipher(token).encrypt(json.dumps(options).encode())
        now = time.time()
        return (session_id, self.owner_of(token), sealed, state, now, now)

    def remember(self, token: str, session_id: str, options: dict[str, Any], state: TransferState = "new") -> None:
        """Record a session the shim just created (replacing any record of the same id)."""
        self.store.write(_REMEMBER, self._row(token, session_id, options, state))

    def adopt(self, token: str, session_id: str, options: dict[str, Any]) -> bool:
        """Record a session first seen upstream, unless the store knows it already; True if recorded.

        Never replaces a record: another process may have adopted the same session a moment
        earlier and hold its upload claim by now.
        """
        return self.store.write(_ADOPT, self._row(token, session_id, options, "new")) == 1

    def get(self, session_id: str) -> tuple[SessionRecord, bytes] | None:
        rows = self.store.execute(
            "SELECT owner, options, state, filename, media_type, error FROM sessions WHERE session_id = ?",
            (session_id,),
        )
        if not rows:
            return None
        owner, sealed, state, filename, media_type, error = rows[0]
        record = SessionRecord(session_id, owner, {}, state, filename, media_type, error)
        return record, bytes(sealed)

    def open(self, token: str, session_id: str) -> SessionRecord | Literal[False] | None:
        """The record with its options if ``token`` owns it; ``None`` if unknown; ``False`` if not theirs."""
        found = self.get(session_id)
        if found is None:
            return None
        record, sealed = found
        if not hmac.compare_digest(record.owner, self.owner_of(token)):
            return False
        from cryptography.fernet import InvalidToken

        try:
            record.options = json.loads(self._cipher(token).decrypt(sealed))
        except InvalidToken:
            return False
        return record

    def update(self, session_id: str, **fields: Any) -> None:
        allowed = {"state", "filename", "media_type", "error"}
        names = sorted(set(fields) & allowed)
        if not names:
            return
        assignments = ", ".join(f"{name} = ?" for name in names)
        self.store.execute(
            f"UPDATE sessions SET {assignments}, updated_at = ? WHERE session_id = ?",
            (*[fields[n] for n in names], time.time(), session_id),
        )

    def forget(self, session_id: str) -> None:
        self.store.execute("DELETE FROM sessions WHERE session_id = ?", (session_id,))

    # the upload claim ---------------------------------------------------------------------

    def claim(
        self,
        session_id: str,
        owner: str,
        *,
        takeover_only: bool = False,
        filename: str | None = None,
        media_type: str | None = None,
    ) -> Claim | None:
        """Take the session's upload claim for ``owner``, atomically; ``None`` if it is not to be had.

        It is to be had when the session is ``new`` or ``failed``, or ``uploading`` under a lease
        that ran out (with ``takeover_only``, only the latter: a job to pick up again). The session
        becomes ``uploading`` (with ``filename``/``media_type`` when given) and the claim is renewed
        by this book until :meth:`Claim.finish` or :meth:`Claim.release`.
        """
        holder = f"{os.getpid()}.{secrets.token_hex(8)}"
        now = time.time()
        params = (holder, now + self.lease, filename, media_type, now, session_id, owner, now)
        if self.store.write(_TAKE_OVER if takeover_only else _CLAIM, params) != 1:
            return None
        rows = self.store.execute(_CLAIMED_PRIOR, (session_id, holder))
        prior = str(rows[0][0]) if rows and rows[0][0] else "new"
        claim = Claim(self, session_id, holder, prior)
        self._keeper.hold(claim)
        return claim

    def release_lapsed(self, session_id: str, owner: str) -> TransferState | None:
        """End a claim whose lease ran out (its holder died): the state it had before, or ``None``
        if there was no such claim (nobody held it, or its holder is alive)."""
        if self.store.write(_RELEASE_LAPSED, (time.time(), session_id, owner, time.time())) != 1:
            return None
        found = self.get(session_id)
        return found[0].state if found else None


class Claim:
    """The upload claim on one session, held by this process; renewed until it is ended.

    End it exactly once, whatever happens: :meth:`finish` when the media is up, :meth:`release`
    otherwise (both are no-ops afterwards).
    """

    def __init__(self, book: SessionBook, session_id: str, holder: str, prior: str) -> None:
        self.book = book
        self.session_id = session_id
        self.holder = holder
        self.prior = prior
        self.ended = False
        self.lost = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Claim({self.session_id!r}, holder={self.holder!r}, prior={self.prior!r})"

    def renew(self) -> bool:
        """Push the lease end out by a full lease; False once the claim is ended or lost."""
        with self._lock:
            if self.ended or self.lost:
                return False
            until = time.time() + self.book.lease
            if self.book.store.write(_RENEW, (until, self.session_id, self.holder)) == 1:
                return True
            self.lost = True
        self.book._keeper.drop(self)
        log.warning("the upload claim on session %s lapsed and was taken over (or deleted)", self.session_id)
        return False

    def finish(self, *, media_type: str | None = None) -> None:
        """The media is up: the session is ``uploaded`` (``media_type`` recorded when given)."""
        if not self._end():
            return
        self.book.store.write(_FINISH, (media_type, time.time(), self.session_id))

    def release(self, *, state: TransferState | None = None, error: str | None = None) -> None:
        """Give the claim up: the session goes back to the state it had (or to ``state``).

        Only if this claim still holds it. A store failure here is logged, not raised (this runs
        while another error is on its way up): the claim then lapses by itself after its lease.
        """
        if not self._end():
            return
        try:
            self.book.store.write(_RELEASE, (state, error, time.time(), self.session_id, self.holder))
        except StoreError as exc:
            log.warning("could not release the claim on session %s (it lapses by itself): %s", self.session_id, exc)

    def _end(self) -> bool:
        with self._lock:
            if self.ended:
                return False
            self.ended = True
        self.book._keeper.drop(self)
        return True


class _LeaseKeeper:
    """Renews every claim its book holds, every third of the lease, from one daemon thread.

    The thread starts with the first claim held and ends once none is left.
    """

    def __init__(self, book: SessionBook) -> None:
        self._book = book
        self._held: dict[str, Claim] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def hold(self, claim: Claim) -> None:
        with self._lock:
            self._held[claim.holder] = claim
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="scriptix-compat-claims", daemon=True)
                self._thread.start()

    def drop(self, claim: Claim) -> None:
        with self._lock:
            self._held.pop(claim.holder, None)

    def _run(self) -> None:
        while True:
            time.sleep(self._book.lease / 3)
            with self._lock:
                claims = list(self._held.values())
                if not claims:
                    self._thread = None
                    return
            for claim in claims:
                try:
                    claim.renew()
                except StoreError as exc:  # busy or full for now: the next round tries again
                    log.warning("could not renew the upload claim on session %s: %s", claim.session_id, exc)
                except Exception:  # e.g. the store was closed: this claim cannot be renewed, it lapses
                    log.exception("stopped renewing the upload claim on session %s", claim.session_id)
                    self.drop(claim)


def _migrate(store: SQLiteStore) -> None:
    """Add the columns of :data:`_ADDED_COLUMNS` to a ``sessions`` table made by an older version."""
    for name, kind in _ADDED_COLUMNS:
        if name in _columns(store):
            continue
        try:
            store.execute(f"ALTER TABLE sessions ADD COLUMN {name} {kind}")
        except StoreError:
            if name not in _columns(store):  # not just another process adding it at the same moment
                raise


def _columns(store: SQLiteStore) -> set[str]:
    return {str(row[1]) for row in store.execute("PRAGMA table_info(sessions)")}
