"""Local state that must survive the process: where each unfinished upload lives.

:class:`SQLiteStore` implements tuspy's ``Storage`` interface (``get_item`` / ``set_item`` /
``remove_item``) on SQLite in WAL mode, so several processes can share one file safely. The file
is created readable by its owner only (0600). Tokens are never stored; where state must be bound
to a token, the store keeps an HMAC of it under a random key of its own (:meth:`token_digest`).
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from tusclient.storage.interface import Storage

from compat.config import MEMORY_STORE
from compat.errors import ConfigurationError, ScriptixError
from compat.redact import token_digest

__all__ = ["SQLiteStore", "StoreError", "open_store"]


class StoreError(ScriptixError):
    """The state store could not be read or written (disk full, read-only file, lock timeout).

    Its ``status_code`` is 503: the shim cannot serve the call right now; the caller may retry.
    The message names the file (for the operator); the ``body`` a caller may see does not.
    """

    def __init__(self, message: str, *, reason: str = "") -> None:
        public = f"Service Unavailable: the shim's state store cannot be used ({reason or 'see its log'}); retry later"
        super().__init__(message, status_code=503, body={"error": public})


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS uploads (
    key TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    created_at REAL NOT NULL
);
"""


class SQLiteStore(Storage):  # type: ignore[misc]
    """Resume state in one SQLite file (or in memory with ``":memory:"``)."""

    def __init__(self, path: str | os.PathLike[str] = MEMORY_STORE) -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        if self.path != MEMORY_STORE:
            _create_private_file(Path(self.path))
        try:
            self._db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA busy_timeout = 10000")
            if self.path != MEMORY_STORE:
                self._db.execute("PRAGMA journal_mode = WAL")
                self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.executescript(_SCHEMA)
            self._key = self._hmac_key()
        except sqlite3.DatabaseError as exc:
            raise ConfigurationError(
                f"option 'store': cannot use {self.path!r} as the state file ({exc})", option="store"
            ) from exc

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _hmac_key(self) -> bytes:
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO meta(name, value) VALUES ('hmac_key', ?)",
                (secrets.token_hex(32),),
            )
            row = self._db.execute("SELECT value FROM meta WHERE name = 'hmac_key'").fetchone()
        return bytes.fromhex(row[0])

    def token_digest(self, token: str | None) -> str:
        """A keyed hash of ``token`` that binds state to it without storing it."""
        return token_digest(token, self._key)

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one statement under the store's lock; for the modules that keep state here.

        A failure of the file itself (disk full, read-only, locked for too long) is a
        :class:`StoreError` naming the file.
        """
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.OperationalError as exc:
                raise self._error(exc) from exc

    def write(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        """Run one ``INSERT``/``UPDATE``/``DELETE`` under the store's lock; how many rows it changed.

        A conditional ``UPDATE`` that changed one row is how a caller knows it won a race against
        every other connection to the file (SQLite runs each statement atomically).
        """
        with self._lock:
            try:
                return int(self._db.execute(sql, params).rowcount)
            except sqlite3.OperationalError as exc:
                raise self._error(exc) from exc

    def _error(self, exc: sqlite3.OperationalError) -> StoreError:
        return StoreError(f"the state store {self.path} cannot be used: {exc}", reason=str(exc))

    # tuspy's Storage interface
    def get_item(self, key: str) -> str | None:
        rows = self.execute("SELECT url FROM uploads WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def set_item(self, key: str, url: str) -> None:
        self.execute(
            "INSERT OR REPLACE INTO uploads(key, url, created_at) VALUES (?, ?, ?)",
            (key, url, time.time()),
        )

    def remove_item(self, key: str) -> None:
        self.execute("DELETE FROM uploads WHERE key = ?", (key,))

    def remove_url(self, url: str) -> None:
        """Forget every entry that points at ``url`` (after termination or completion)."""
        self.execute("DELETE FROM uploads WHERE url = ?", (url,))

    def pending_uploads(self) -> list[tuple[str, str, float]]:
        """``(key, url, created_at)`` of every upload that has not completed."""
        return [
            (str(k), str(u), float(t))
            for k, u, t in self.execute("SELECT key, url, created_at FROM uploads ORDER BY created_at")
        ]


def _create_private_file(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        os.close(fd)
    except OSError as exc:
        raise ConfigurationError(
            f"option 'store': cannot create the state file {str(path)!r} ({exc.strerror})",
            option="store",
        ) from exc


def open_store(store: str | os.PathLike[str] | SQLiteStore) -> SQLiteStore:
    """The store for an option value: an instance as is, else a path (or ``":memory:"``)."""
    if isinstance(store, SQLiteStore):
        return store
    return SQLiteStore(store)
