"""A throwaway PostgreSQL database for a part of the run: made on the server of an administrative URL,
dropped (``WITH (FORCE)``) when the ``with`` block ends. Never touches another database."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import unquote


@dataclass
class Database:
    """The store URL of the database made (the admin URL's query kept) and a description of its server."""

    url: str
    server: str


class NoServer(RuntimeError):
    """psycopg is missing or no server answers at the administrative URL."""


@contextmanager
def scratch_database(admin_url: str, purpose: str) -> Iterator[Database]:
    """A database named ``scx_bench_<purpose>_<pid>``, dropped at the end.

    Raises:
        NoServer: psycopg is not installed or the server cannot be reached.
    """
    try:
        import psycopg
    except ImportError as exc:
        raise NoServer("psycopg not installed") from exc
    name = f"scx_bench_{purpose}_{os.getpid()}"
    try:
        with psycopg.connect(admin_url, connect_timeout=5, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
            info = admin.info
            where, user, version = f"{info.host}:{info.port}", info.user, info.server_version
    except psycopg.Error as exc:
        raise NoServer(f"no server at {admin_url}: {exc}") from exc
    query = admin_url.partition("?")[2]  # e.g. options=-c synchronous_commit=off, kept for the store
    url = f"postgresql://{user}@{where}/{name}" + (f"?{query}" if query else "")
    server = f"PostgreSQL {version // 10000}.{version % 10000} on {where}"
    server += f" (`?{unquote(query)}`)" if query else ""
    try:
        yield Database(url, server)
    finally:
        with psycopg.connect(admin_url, connect_timeout=5, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


__all__ = ["Database", "NoServer", "scratch_database"]
