"""One store, whichever backend: what a test of the store needs to run on SQLite and on PostgreSQL.

The ``store_backend`` fixture (registered in ``tests/conftest.py``) is parametrized over
``sqlite`` (a file in the test's temporary directory) and ``postgresql`` (a database of its own,
see ``tests/pg_guard.py``). Its :class:`Backend` gives the store's option value (a path or a URL),
opens stores on it (each its own connection, as separate processes would have), and reads or
writes rows on a plain connection of its own, as another program would.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pg_guard import temporary_database

from compat.store import Store, open_store

BACKENDS = ("sqlite", "postgresql")


class Backend:
    """A store location (SQLite file or PostgreSQL database) and plain access to its rows."""

    def __init__(self, name: str, value: str) -> None:
        self.name = name
        self.value = value  # the `store` option: a path or a postgresql:// URL
        self.opened: list[Store] = []

    def __repr__(self) -> str:
        return f"Backend({self.name}, {self.value!r})"

    def open(self) -> Store:
        """A store on this location, closed at the end of the test."""
        store = open_store(self.value)
        self.opened.append(store)
        return store

    def close_all(self) -> None:
        for store in self.opened:
            with contextlib.suppress(Exception):
                store.close()

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        """Run ``sql`` (``?`` parameters) on a connection of its own; the rows as dicts."""
        if self.name == "sqlite":
            with contextlib.closing(sqlite3.connect(self.value)) as db, db:
                db.row_factory = sqlite3.Row
                return [dict(row) for row in db.execute(sql, params).fetchall()]
        import psycopg
        from psycopg.rows import dict_row

        with psycopg.connect(self.value, autocommit=True, row_factory=dict_row) as db:
            cursor = db.execute(sql.replace("?", "%s"), params or None)
            return list(cursor.fetchall()) if cursor.description is not None else []

    def write(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        """Run one statement (``?`` parameters) on a connection of its own, committed."""
        self.rows(sql, params)

    def row(self, session_id: str) -> dict[str, Any]:
        """The session's row as the store holds it ({} if none)."""
        found = self.rows("SELECT * FROM sessions WHERE session_id = ?", (session_id,))
        return found[0] if found else {}

    def tables(self) -> set[str]:
        if self.name == "sqlite":
            return {row["name"] for row in self.rows("SELECT name FROM sqlite_master WHERE type = 'table'")}
        query = "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()"
        return {row["name"] for row in self.rows(query)}

    def columns(self, table: str) -> set[str]:
        if self.name == "sqlite":
            return {row["name"] for row in self.rows(f"PRAGMA table_info({table})")}
        query = "SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema()"
        return {row["name"] for row in self.rows(f"{query} AND table_name = ?", (table,))}


@contextlib.contextmanager
def backend_at(name: str, tmp_path: Path) -> Iterator[Backend]:
    """A fresh location of backend ``name`` (PostgreSQL: skipped locally, failed under CI, if absent)."""
    if name == "sqlite":
        backend = Backend(name, str(tmp_path / "state.sqlite3"))
        try:
            yield backend
        finally:
            backend.close_all()
        return
    with temporary_database() as url:
        backend = Backend(name, url)
        try:
            yield backend
        finally:
            backend.close_all()


@pytest.fixture(params=BACKENDS)
def store_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """A fresh store location, once per backend (see the module docstring)."""
    with backend_at(request.param, tmp_path) as backend:
        yield backend
