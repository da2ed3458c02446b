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

**A holder that died.** The holder id names its process (:mod:`compat.liveness`: machine, PID,
start time). A caller on the same machine whose holder's process is gone takes the claim over at
once, lease or not (one conditional ``UPDATE`` naming the dead holder: one winner). A caller that
cannot tell (another host) may wait for the lease (``wait=`` of :meth:`SessionBook.claim`): a
renewal seen meanwhile means a live holder (refused); a lease that runs out is taken over.

The statements are the store's (:class:`compat.store.Store`: ``claim_session`` and the like); this
module seals the options and keeps the leases alive.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from compat.config import DEFAULT_CLAIM_LEASE
from compat.errors import StoreError
from compat.liveness import holder_alive, new_holder_id
from compat.store.interface import SessionChanges, Store, StoredReceipt, TransferState

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

__all__ = ["Claim", "ClaimLostError", "SessionBook", "SessionNotOwnedError", "SessionRecord", "TransferState"]

log = logging.getLogger("compat.sessions")

_WATCH_STEP = 0.5
"""Seconds between two looks at a claim whose holder cannot be judged (see :meth:`SessionBook.claim`)."""


class SessionNotOwnedError(LookupError):
    """The store knows the session under another token (internal: the translator turns it into V1's answer).

    The store cannot tell a valid token of another account from a token that is not valid at all;
    only upstream can, so this carries no status of its own.
    """

    def __init__(self, session_id: str) -> None:
        super().__init__(f"session {session_id} belongs to another token")
        self.session_id = session_id


class ClaimLostError(Exception):
    """This process's claim on a session is no longer its own (internal: the translator stops the
    transfer and answers as for a second upload).

    Its holder stopped renewing it for longer than the lease (a frozen process, a store out of
    reach) and another caller took the session over, or the session was deleted. Whatever the
    transfer does next would be done twice, or undo the other caller's work.
    """

    def __init__(self, session_id: str) -> None:
        super().__init__(f"the upload claim on session {session_id} was taken over by another caller")
        self.session_id = session_id


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
    """Session records in the shared state store (:class:`compat.store.Store`).

    ``lease`` is the length in seconds of an upload claim (default: ``claim_lease`` of
    :class:`compat.config.Settings`, 30 s).
    """

    def __init__(self, store: Store, *, lease: float = DEFAULT_CLAIM_LEASE) -> None:
        if not lease > 0:
            raise ValueError("the claim lease must be a positive number of seconds")
        self.store = store
        self.lease = float(lease)
        self._keeper = _LeaseKeeper(self)

    def owner_of(self, token: str) -> str:
        return self.store.token_digest(token)

    def _cipher(self, token: str) -> Fernet:
        from cryptography.fernet import Fernet  # imported on use: V3-only callers never pay for it

        key = hmac.new(self.store.token_digest(token).encode(), b"v1-options", hashlib.sha256).digest()
        return Fernet(base64.urlsafe_b64encode(key))

    def _seal(self, token: str, options: dict[str, Any]) -> bytes:
        return self._cipher(token).encrypt(json.dumps(options).encode())

    def remember(self, token: str, session_id: str, options: dict[str, Any], state: TransferState = "new") -> None:
        """Record a session the shim just created (replacing any record of the same id)."""
        self.store.put_session(session_id, self.owner_of(token), self._seal(token, options), state, replace=True)

    def adopt(self, token: str, session_id: str, options: dict[str, Any]) -> bool:
        """Record a session first seen upstream, unless the store knows it already; True if recorded.

        Never replaces a record: another process may have adopted the same session a moment
        earlier and hold its upload claim by now.
        """
        sealed = self._seal(token, options)
        return self.store.put_session(session_id, self.owner_of(token), sealed, "new", replace=False)

    def get(self, session_id: str) -> tuple[SessionRecord, bytes] | None:
        """The record (options not yet opened) and the sealed options; ``None`` if unknown."""
        found = self.store.get_session(session_id)
        if found is None:
            return None
        record = SessionRecord(session_id, found.owner, {}, found.state, found.filename, found.media_type, found.error)
        return record, found.sealed_options

    def open(self, token: str, session_id: str) -> SessionRecord | None:
        """The record with its options if ``token`` owns it; ``None`` if the store does not know it.

        Raises :class:`SessionNotOwnedError` when the store knows it under another token.
        """
        found = self.get(session_id)
        if found is None:
            return None
        record, sealed = found
        if not hmac.compare_digest(record.owner, self.owner_of(token)):
            raise SessionNotOwnedError(session_id)
        from cryptography.fernet import InvalidToken

        try:
            record.options = json.loads(self._cipher(token).decrypt(sealed))
        except InvalidToken:  # the owner's hash matched but the key did not: not this token's either
            raise SessionNotOwnedError(session_id) from None
        return record

    def update(self, session_id: str, **fields: Any) -> None:
        """Change ``state``, ``filename``, ``media_type`` or ``error`` of a session (others are ignored)."""
        changes: SessionChanges = {}
        for name in ("state", "filename", "media_type", "error"):
            if name in fields:
                changes[name] = fields[name]
        self.store.update_session(session_id, changes)

    def forget(self, session_id: str) -> None:
        """Drop the session's record."""
        self.store.delete_session(session_id)

    # the upload claim ---------------------------------------------------------------------

    def claim(
        self,
        session_id: str,
        owner: str,
        *,
        takeover_only: bool = False,
        filename: str | None = None,
        media_type: str | None = None,
        wait: float = 0.0,
    ) -> Claim | None:
        """Take the session's upload claim for ``owner``, atomically; ``None`` if it is not to be had.

        It is to be had when the session is ``new`` or ``failed``, or ``uploading`` under a lease
        that ran out or held by a process of this machine that is gone (with ``takeover_only``,
        only ``uploading``: a job to pick up again). The session becomes ``uploading`` (with
        ``filename``/``media_type`` when given) and the claim is renewed by this book until
        :meth:`Claim.finish` or :meth:`Claim.release`.

        ``wait``: up to how many seconds to watch a claim whose holder this process cannot judge
        (another host): a renewal means it is alive (``None`` at once); a lease that runs out
        meanwhile is taken over. A holder seen alive, or a session in another state, is not waited for.
        """
        holder = new_holder_id()
        deadline = time.monotonic() + wait
        seen: tuple[str | None, float | None] | None = None
        while True:
            prior = self.store.claim_session(
                session_id,
                owner,
                holder,
                self.lease,
                takeover_only=takeover_only,
                filename=filename,
                media_type=media_type,
            )
            if prior is None:
                current = self.store.get_claim(session_id)
                if current is None or current.state != "uploading" or current.holder is None:
                    return None
                alive = holder_alive(current.holder)
                if alive is False:
                    prior = self.store.take_over_claim(
                        session_id,
                        owner,
                        current.holder,
                        holder,
                        self.lease,
                        filename=filename,
                        media_type=media_type,
                    )
                    if prior is not None:
                        log.info("took over the upload claim on session %s: its holder's process is gone", session_id)
                elif alive is None and time.monotonic() < deadline:
                    now = (current.holder, current.until)
                    if seen is not None and seen[0] == now[0] and (now[1] or 0) > (seen[1] or 0):
                        return None  # renewed while we watched: the holder lives
                    seen = seen if seen is not None and seen[0] == now[0] else now
                    time.sleep(min(_WATCH_STEP, self.lease / 10, max(deadline - time.monotonic(), 0.0)))
                    continue
            if prior is None:
                return None
            claim = Claim(self, session_id, holder, prior)
            self._keeper.hold(claim)
            return claim

    def release_lapsed(self, session_id: str, owner: str) -> TransferState | None:
        """End a claim whose holder died (its lease ran out, or its process on this machine is gone):
        the state it had before, or ``None`` if there was no such claim (nobody held it, or its
        holder is alive)."""
        released = self.store.release_lapsed_claim(session_id, owner)
        if not released:
            current = self.store.get_claim(session_id)
            if current is None or current.state != "uploading" or current.holder is None:
                return None
            if holder_alive(current.holder) is not False:
                return None
            found = self.get(session_id)
            if found is None or found[0].owner != owner:
                return None
            released = self.store.release_claim(session_id, current.holder, state=None, error=None)
        if not released:
            return None
        found = self.get(session_id)
        return found[0].state if found else None

    # upload receipts ----------------------------------------------------------------------

    def receipts(self, session_id: str) -> list[StoredReceipt]:
        """The receipts of the session's media upload (a digest per chunk the server confirmed), by offset."""
        return self.store.receipts_of(session_id)

    def add_receipt(self, session_id: str, receipt: StoredReceipt) -> None:
        """Record a receipt of the session's media upload (those at or past its offset are dropped)."""
        self.store.add_receipt(session_id, receipt)

    def clear_receipts(self, session_id: str) -> None:
        """Forget the receipts of the session's media upload (a new upload starts, or none is kept)."""
        self.store.clear_receipts(session_id)


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
            if self.book.store.renew_claim(self.session_id, self.holder, self.book.lease):
                return True
            self.lost = True
        self.book._keeper.drop(self)
        log.warning("the upload claim on session %s lapsed and was taken over (or deleted)", self.session_id)
        return False

    def confirm(self) -> None:
        """Renew the lease now, or raise :class:`ClaimLostError` when the claim is lost or ended.

        Called before each step that writes what the claim guards (a chunk's receipt), so that a
        holder that was frozen for longer than its lease stops at once when it wakes, instead of
        writing over the state of the caller that took the session over.
        """
        if not self.renew():
            raise ClaimLostError(self.session_id)

    def holds(self) -> bool:
        """Whether the store still names this claim as the session's holder (one read).

        False once the claim is ended or lost, and when the store cannot be read: what this
        process cannot show to be its own it leaves alone.
        """
        if self.ended or self.lost:
            return False
        try:
            current = self.book.store.get_claim(self.session_id)
        except StoreError as exc:
            log.warning("could not read the upload claim on session %s: %s", self.session_id, exc)
            return False
        return current is not None and current.state == "uploading" and current.holder == self.holder

    def finish(self, *, media_type: str | None = None) -> None:
        """The media is up: the session is ``uploaded`` (``media_type`` recorded when given)."""
        if not self._end():
            return
        self.book.store.finish_claim(self.session_id, media_type=media_type)

    def release(self, *, state: TransferState | None = None, error: str | None = None) -> None:
        """Give the claim up: the session goes back to the state it had (or to ``state``).

        Only if this claim still holds it. A store failure here is logged, not raised (this runs
        while another error is on its way up): the claim then lapses by itself after its lease.
        """
        if not self._end():
            return
        try:
            self.book.store.release_claim(self.session_id, self.holder, state=state, error=error)
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
