"""The :class:`~compat.store.interface.Store` interface written once in SQL, for every backend.

:class:`SQLStore` holds every statement the shim runs on its state and the migration of the schema
on open. A backend subclasses it and provides the connection: :meth:`SQLStore.execute`,
:meth:`SQLStore.write`, :meth:`SQLStore._transaction`, :meth:`SQLStore._tables`,
:meth:`SQLStore._columns` and :meth:`SQLStore._where`. Statements use ``?`` for their
parameters and SQL that SQLite and PostgreSQL both run (``ON CONFLICT``, ``excluded``, ``CASE``,
``COALESCE``); a driver that wants another parameter style converts ``?`` in ``execute``/``write``.
"""

from __future__ import annotations

import logging
import secrets
import time
from abc import abstractmethod
from contextlib import AbstractContextManager
from typing import Any, ClassVar, cast

from compat.errors import ConfigurationError, StoreError
from compat.redact import token_digest
from compat.store.interface import SessionChanges, Store, StoredClaim, StoredReceipt, StoredSession, TransferState
from compat.store.schema import VERSION_KEY, Dialect, latest_version, pending, render, version_before_versioning

__all__ = ["SQLStore"]

log = logging.getLogger("compat.store")

# -- meta --------------------------------------------------------------------------------------
_META_GET = "SELECT value FROM meta WHERE name = ?"
_META_ADD = "INSERT INTO meta(name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING"
_META_SET = "INSERT INTO meta(name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value"

# -- resume URLs -------------------------------------------------------------------------------
_UPLOAD_GET = "SELECT url FROM uploads WHERE key = ?"
_UPLOAD_SET = (
    "INSERT INTO uploads(key, url, created_at) VALUES (?, ?, ?)"
    " ON CONFLICT (key) DO UPDATE SET url = excluded.url, created_at = excluded.created_at"
)
_UPLOAD_REMOVE = "DELETE FROM uploads WHERE key = ?"
_UPLOAD_REMOVE_URL = "DELETE FROM uploads WHERE url = ?"
_UPLOADS_PENDING = "SELECT key, url, created_at FROM uploads ORDER BY created_at"

# -- sessions ----------------------------------------------------------------------------------
_UNCLAIMED = "claim_holder = NULL, claim_until = NULL, claim_prior = NULL"
_SESSION_INSERT = (
    "INSERT INTO sessions(session_id, owner, options, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)"
)
_SESSION_REPLACE = (
    f"{_SESSION_INSERT} ON CONFLICT (session_id) DO UPDATE SET owner = excluded.owner, options = excluded.options,"
    " state = excluded.state, filename = NULL, media_type = NULL, error = NULL,"
    f" {_UNCLAIMED}, created_at = excluded.created_at, updated_at = excluded.updated_at"
)
_SESSION_ADD = f"{_SESSION_INSERT} ON CONFLICT (session_id) DO NOTHING"
_SESSION_GET = "SELECT owner, options, state, filename, media_type, error FROM sessions WHERE session_id = ?"
_SESSION_DELETE = "DELETE FROM sessions WHERE session_id = ?"
_SESSION_FIELDS = ("state", "filename", "media_type", "error")  # what update_session may change

# -- the claim ---------------------------------------------------------------------------------
# A claim lapses when its lease ran out; an 'uploading' row without a lease (written by a version
# before claims, or by put_session(state='uploading')) counts as lapsed.
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
_RELEASE = (
    f"UPDATE sessions SET state = COALESCE(?, claim_prior, 'new'), error = COALESCE(?, error), {_UNCLAIMED},"
    " updated_at = ? WHERE session_id = ? AND claim_holder = ?"
)
_RELEASE_LAPSED = (
    f"UPDATE sessions SET state = COALESCE(claim_prior, 'new'), {_UNCLAIMED}, updated_at = ?"
    f" WHERE session_id = ? AND owner = ? AND {_LAPSED}"
)
_TAKE_OVER_DEAD = f"{_CLAIM_SET} AND state = 'uploading' AND claim_holder = ?"
_CLAIM_GET = "SELECT state, claim_holder, claim_until FROM sessions WHERE session_id = ?"
_FINISH = (
    f"UPDATE sessions SET state = 'uploaded', media_type = COALESCE(?, media_type), {_UNCLAIMED}, updated_at = ?"
    " WHERE session_id = ?"
)

# -- upload receipts ---------------------------------------------------------------------------
_RECEIPTS_GET = (
    "SELECT upload_url, byte_offset, length, digest, upload_length FROM upload_receipts"
    " WHERE session_id = ? ORDER BY byte_offset"
)
_RECEIPTS_FROM = "DELETE FROM upload_receipts WHERE session_id = ? AND byte_offset >= ?"
_RECEIPT_ADD = (
    "INSERT INTO upload_receipts(session_id, upload_url, upload_length, byte_offset, length, digest, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_RECEIPTS_CLEAR = "DELETE FROM upload_receipts WHERE session_id = ?"

# -- transcribe jobs ---------------------------------------------------------------------------
_JOB_GET = "SELECT session_id FROM transcribe_jobs WHERE key = ?"
_JOB_SET = (
    "INSERT INTO transcribe_jobs(key, session_id, created_at) VALUES (?, ?, ?)"
    " ON CONFLICT (key) DO UPDATE SET session_id = excluded.session_id, created_at = excluded.created_at"
)
_JOB_DELETE = "DELETE FROM transcribe_jobs WHERE key = ?"
_JOB_DELETE_SESSION = "DELETE FROM transcribe_jobs WHERE session_id = ?"


class SQLStore(Store):
    """The store's operations in SQL; a backend provides the connection (see the module docstring).

    A backend's constructor connects, then calls :meth:`_open`, which migrates the schema and
    reads the HMAC key.
    """

    dialect: ClassVar[Dialect]
    migrated_from: int | None = None
    """The schema version this object found and migrated from on open (None: it migrated nothing)."""
    _version: int = 0
    _key: bytes = b""

    # -- what a backend provides ---------------------------------------------------------------

    @abstractmethod
    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one statement; its rows. A failure of the store itself is a :class:`StoreError`."""

    @abstractmethod
    def write(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        """Run one ``INSERT``/``UPDATE``/``DELETE``; how many rows it changed."""

    @abstractmethod
    def _transaction(self, *, exclusive: bool = False) -> AbstractContextManager[None]:
        """A transaction: committed on exit, rolled back on an exception; ``execute``/``write``
        inside it belong to it. ``exclusive``: no other transaction of that kind runs on the store
        at the same time, in any process (the migrations take it)."""

    @abstractmethod
    def _tables(self) -> set[str]:
        """The names of the tables the store holds."""

    @abstractmethod
    def _columns(self, table: str) -> set[str]:
        """The names of the columns of ``table``."""

    @abstractmethod
    def _where(self) -> str:
        """The store, named for an operator's message (never with a password)."""

    def _now(self) -> float:
        """The store's clock, in epoch seconds: what leases are measured against."""
        return time.time()

    def _other_clients(self) -> int:
        """How many other processes use the store right now, where the backend can tell (else 0)."""
        return 0

    # -- opening ---------------------------------------------------------------------------------

    def _open(self) -> None:
        self._version = self._migrate()
        self._key = self._hmac_key()

    def _found_version(self) -> tuple[int, bool]:
        """The store's schema version, and whether the store records it (stores made before
        versioning do not: their version is read from their tables)."""
        tables = self._tables()
        if "meta" in tables:
            rows = self.execute(_META_GET, (VERSION_KEY,))
            if rows:
                try:
                    return int(rows[0][0]), True
                except ValueError:
                    raise ConfigurationError(
                        f"option 'store': the state store {self._where()} has an unreadable schema version"
                        f" {rows[0][0]!r}",
                        option="store",
                    ) from None
        session_columns = self._columns("sessions") if "sessions" in tables else set()
        return version_before_versioning(tables, session_columns), False

    def _check_not_newer(self, found: int) -> None:
        latest = latest_version()
        if found > latest:
            raise ConfigurationError(
                f"option 'store': the state store {self._where()} has schema version {found}, newer than this"
                f" version of scriptix-compat knows (up to {latest}); upgrade scriptix-compat to use it"
                " (a store is never downgraded)",
                option="store",
            )

    def _migrate(self) -> int:
        """Bring the schema to the latest version (returned) and record it. The pending migrations
        run in one exclusive transaction: of several processes opening an old store at once, the
        first migrates it and the others find it migrated; a failure leaves the store as it was."""
        latest = latest_version()
        found, recorded = self._found_version()  # without the write lock: the common case, nothing to do
        self._check_not_newer(found)
        if recorded and found == latest:
            return latest
        with self._transaction(exclusive=True):
            found, recorded = self._found_version()  # again under the lock: another process may have done it
            self._check_not_newer(found)
            for migration in pending(found):
                try:
                    for statement in migration.statements:
                        self.execute(render(statement, self.dialect))
                except StoreError as exc:
                    raise ConfigurationError(
                        f"option 'store': cannot migrate the state store {self._where()} to schema version"
                        f" {migration.version} ({exc.__cause__ or exc})",
                        option="store",
                    ) from exc
            if not (recorded and found == latest):
                self.write(_META_SET, (VERSION_KEY, str(latest)))
        if 0 < found < latest:
            self.migrated_from = found
            log.info("migrated the state store %s from schema version %d to %d", self._where(), found, latest)
        return latest

    def _hmac_key(self) -> bytes:
        rows = self.execute(_META_GET, ("hmac_key",))
        if not rows:  # a new store: the first process to get here sets it
            self.write(_META_ADD, ("hmac_key", secrets.token_hex(32)))
            rows = self.execute(_META_GET, ("hmac_key",))
        return bytes.fromhex(rows[0][0])

    # -- meta -------------------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        """The version of the store's schema (:func:`compat.store.schema.latest_version` once open)."""
        return self._version

    def recorded_schema_version(self) -> int | None:
        """The schema version the store records now, read from it (a :class:`StoreError` when it
        cannot be reached); ``None`` when it records none or an unreadable one."""
        rows = self.execute(_META_GET, (VERSION_KEY,))
        try:
            return int(rows[0][0]) if rows else None
        except ValueError:
            return None

    def token_digest(self, token: str | None) -> str:
        """A keyed hash of ``token`` that binds state to it without storing it."""
        return token_digest(token, self._key)

    # -- resume URLs (tuspy's Storage interface, and beyond) ------------------------------------------

    def get_item(self, key: str) -> str | None:
        rows = self.execute(_UPLOAD_GET, (key,))
        return str(rows[0][0]) if rows else None

    def set_item(self, key: str, url: str) -> None:
        self.write(_UPLOAD_SET, (key, url, self._now()))

    def remove_item(self, key: str) -> None:
        self.write(_UPLOAD_REMOVE, (key,))

    def remove_url(self, url: str) -> None:
        """Forget every entry that points at ``url`` (after termination or completion)."""
        self.write(_UPLOAD_REMOVE_URL, (url,))

    def pending_uploads(self) -> list[tuple[str, str, float]]:
        """``(key, url, created_at)`` of every upload that has not completed."""
        return [(str(k), str(u), float(t)) for k, u, t in self.execute(_UPLOADS_PENDING)]

    # -- sessions -----------------------------------------------------------------------------------

    def put_session(
        self, session_id: str, owner: str, sealed_options: bytes, state: TransferState, *, replace: bool
    ) -> bool:
        now = self._now()
        params = (session_id, owner, sealed_options, state, now, now)
        return self.write(_SESSION_REPLACE if replace else _SESSION_ADD, params) == 1

    def get_session(self, session_id: str) -> StoredSession | None:
        rows = self.execute(_SESSION_GET, (session_id,))
        if not rows:
            return None
        owner, sealed, state, filename, media_type, error = rows[0]
        return StoredSession(session_id, owner, bytes(sealed), state, filename, media_type, error)

    def update_session(self, session_id: str, changes: SessionChanges) -> None:
        names = [name for name in _SESSION_FIELDS if name in changes]
        if not names:
            return
        assignments = ", ".join(f"{name} = ?" for name in names)
        values = [changes[name] for name in names]  # type: ignore[literal-required]
        self.write(
            f"UPDATE sessions SET {assignments}, updated_at = ? WHERE session_id = ?",
            (*values, self._now(), session_id),
        )

    def delete_session(self, session_id: str) -> None:
        with self._transaction():
            self.write(_RECEIPTS_CLEAR, (session_id,))
            self.write(_SESSION_DELETE, (session_id,))

    # -- the claim ------------------------------------------------------------------------------------

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
        with self._transaction():
            now = self._now()
            params = (holder, now + lease, filename, media_type, now, session_id, owner, now)
            if self.write(_TAKE_OVER if takeover_only else _CLAIM, params) != 1:
                return None
            rows = self.execute(_CLAIMED_PRIOR, (session_id, holder))
        return cast(TransferState, (rows[0][0] if rows else None) or "new")

    def renew_claim(self, session_id: str, holder: str, lease: float) -> bool:
        return self.write(_RENEW, (self._now() + lease, session_id, holder)) == 1

    def release_claim(self, session_id: str, holder: str, *, state: TransferState | None, error: str | None) -> bool:
        return self.write(_RELEASE, (state, error, self._now(), session_id, holder)) == 1

    def release_lapsed_claim(self, session_id: str, owner: str) -> bool:
        now = self._now()
        return self.write(_RELEASE_LAPSED, (now, session_id, owner, now)) == 1

    def finish_claim(self, session_id: str, *, media_type: str | None) -> None:
        self.write(_FINISH, (media_type, self._now(), session_id))

    def get_claim(self, session_id: str) -> StoredClaim | None:
        rows = self.execute(_CLAIM_GET, (session_id,))
        if not rows:
            return None
        state, holder, until = rows[0]
        return StoredClaim(state, holder, None if until is None else float(until))

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
        with self._transaction():
            now = self._now()
            params = (holder, now + lease, filename, media_type, now, session_id, owner, dead_holder)
            if self.write(_TAKE_OVER_DEAD, params) != 1:
                return None
            rows = self.execute(_CLAIMED_PRIOR, (session_id, holder))
        return cast(TransferState, (rows[0][0] if rows else None) or "new")

    # -- upload receipts ----------------------------------------------------------------------------

    def receipts_of(self, session_id: str) -> list[StoredReceipt]:
        rows = self.execute(_RECEIPTS_GET, (session_id,))
        return [
            StoredReceipt(str(url), int(offset), int(length), str(digest), None if total is None else int(total))
            for url, offset, length, digest, total in rows
        ]

    def add_receipt(self, session_id: str, receipt: StoredReceipt) -> None:
        with self._transaction():
            self.write(_RECEIPTS_FROM, (session_id, receipt.offset))
            self.write(
                _RECEIPT_ADD,
                (
                    session_id,
                    receipt.upload_url,
                    receipt.upload_length,
                    receipt.offset,
                    receipt.length,
                    receipt.digest,
                    self._now(),
                ),
            )

    def clear_receipts(self, session_id: str) -> None:
        self.write(_RECEIPTS_CLEAR, (session_id,))

    # -- transcribe jobs ----------------------------------------------------------------------------

    def job_session(self, key: str) -> str | None:
        rows = self.execute(_JOB_GET, (key,))
        return str(rows[0][0]) if rows else None

    def put_job(self, key: str, session_id: str) -> None:
        self.write(_JOB_SET, (key, session_id, self._now()))

    def delete_job(self, key: str) -> None:
        self.write(_JOB_DELETE, (key,))

    def delete_jobs_of_session(self, session_id: str) -> None:
        self.write(_JOB_DELETE_SESSION, (session_id,))
