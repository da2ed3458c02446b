"""The SQLite backend of the state store: one file (or memory) that several processes can share.

The file is created readable by its owner only (0600) and runs in WAL mode; the statements and the
migrations are those of :class:`~compat.store.sql.SQLStore`. Migrations run inside
``BEGIN IMMEDIATE``, which takes the file's write lock, so processes opening an old file at once
migrate it once.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tusclient.storage.interface import Storage

from compat.config import MEMORY_STORE
from compat.errors import ConfigurationError, StoreError
from compat.store.sql import SQLStore

__all__ = ["SQLiteStore"]


class SQLiteStore(SQLStore, Storage):  # type: ignore[misc]
    """The state store in one SQLite file (or in memory with ``":memory:"``).

    It is tuspy's ``Storage`` as well, so tuspy can keep its resume URLs here. Opening it creates
    or migrates the schema (:attr:`schema_version`); a file of a newer schema is refused with a
    :class:`~compat.errors.ConfigurationError`.
    """

    dialect = "sqlite"

    def __init__(self, path: str | os.PathLike[str] = MEMORY_STORE) -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        if self.path != MEMORY_STORE:
            _create_private_file(Path(self.path))
        try:
            self._db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None, check_same_thread=False)
        except sqlite3.DatabaseError as exc:
            raise self._unusable(exc) from exc
        try:
            self._db.execute("PRAGMA busy_timeout = 10000")
            if self.path != MEMORY_STORE:
                self._db.execute("PRAGMA journal_mode = WAL")
                self._db.execute("PRAGMA synchronous = NORMAL")
            self._open()
        except (sqlite3.DatabaseError, StoreError) as exc:
            self._db.close()
            raise self._unusable(exc) from exc
        except BaseException:
            self._db.close()
            raise

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one statement under the store's lock; its rows.

        A failure of the file itself (disk full, read-only, locked for too long) is a
        :class:`~compat.errors.StoreError` naming the file.
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

    @contextlib.contextmanager
    def _transaction(self, *, exclusive: bool = False) -> Iterator[None]:
        # Every transaction here is exclusive: IMMEDIATE takes the file's write lock at BEGIN
        # (waiting up to busy_timeout for it), and SQLite has one writer at a time anyway.
        with self._lock:  # this connection is the transaction's until it ends
            self.execute("BEGIN IMMEDIATE")
            try:
                yield
                self.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    # if even this fails, SQLite has rolled back by itself; the first error is the one to raise
                    with contextlib.suppress(sqlite3.Error):
                        self._db.execute("ROLLBACK")
                raise

    def _tables(self) -> set[str]:
        return {str(row[0]) for row in self.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def _columns(self, table: str) -> set[str]:
        return {str(row[1]) for row in self.execute(f"PRAGMA table_info({table})")}

    def _where(self) -> str:
        return self.path

    def _error(self, exc: sqlite3.OperationalError) -> StoreError:
        return StoreError(f"the state store {self.path} cannot be used: {exc}", reason=str(exc))

    def _unusable(self, exc: Exception) -> ConfigurationError:
        reason = str(exc.__cause__ or exc) if isinstance(exc, StoreError) else str(exc)
        return ConfigurationError(
            f"option 'store': cannot use {self.path!r} as the state file ({reason})", option="store"
        )


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
