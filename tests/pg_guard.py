"""PostgreSQL for tests: a database of its own per test, on the server every build machine runs.

Every machine that builds and tests this project (a developer's and CI's) runs a PostgreSQL server
on 127.0.0.1:5432 with trust authentication; ``COMPAT_TEST_POSTGRES`` names another administrative
URL if needed. A test that needs PostgreSQL takes :func:`postgres_url` (a fixture, registered in
``tests/conftest.py``) or calls :func:`temporary_database`: a database with a random name is created
for it and dropped at the end, every connection to it terminated first. When no server answers, or
psycopg is not installed, the test is skipped on a developer's machine and fails when ``CI`` is set
(as with the TUS peer, ``tests/peer_guard.py``): a green CI always means the PostgreSQL tests ran.

Nothing here installs or starts a server.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
from peer_guard import skip_or_fail

ADMIN_URL = os.environ.get("COMPAT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
PREFIX = "scx_test_"


@functools.cache
def _unavailable() -> str | None:
    """Why PostgreSQL cannot be used by the tests, or None when it can (asked once per run)."""
    try:
        import psycopg
    except ImportError as exc:
        return f"psycopg is not installed ({exc}): pip install -e '.[dev]'"
    try:
        with psycopg.connect(ADMIN_URL, connect_timeout=3, autocommit=True) as admin:
            admin.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"no PostgreSQL server answers at {ADMIN_URL} ({str(exc).strip()})"
    return None


def require_postgres() -> None:
    """Return when the server can be used; otherwise skip (locally) or fail (``CI`` set: CI never skips)."""
    reason = _unavailable()
    if reason is not None:
        skip_or_fail(reason)


def url_of(database: str) -> str:
    """The URL of ``database`` on the administrative URL's server, as the same user."""
    import psycopg.conninfo

    params: dict[str, Any] = psycopg.conninfo.conninfo_to_dict(ADMIN_URL)
    user = params.get("user", "postgres")
    host = params.get("host", "127.0.0.1")
    port = params.get("port", "5432")
    return f"postgresql://{user}@{host}:{port}/{database}"


def admin(sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one statement on the administrative database (autocommit); its rows."""
    import psycopg

    with psycopg.connect(ADMIN_URL, connect_timeout=5, autocommit=True) as connection:
        cursor = connection.execute(sql, params or None)
        return cursor.fetchall() if cursor.description is not None else []


@contextlib.contextmanager
def temporary_database() -> Iterator[str]:
    """A new, empty database with a random name; its URL. Dropped at the end (connections killed)."""
    require_postgres()
    name = PREFIX + secrets.token_hex(6)
    admin(f'CREATE DATABASE "{name}"')
    try:
        yield url_of(name)
    finally:
        drop_database(name)


def drop_database(name: str) -> None:
    """Drop ``name`` even while connections to it are open (they are terminated)."""
    import psycopg

    try:
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except psycopg.errors.SyntaxError:  # before PostgreSQL 13: terminate, then drop
        admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        admin(f'DROP DATABASE IF EXISTS "{name}"')


def database_of(url: str) -> str:
    """The database name in a test URL."""
    return url.rsplit("/", 1)[1].split("?", 1)[0]


def terminate_connections(url: str) -> int:
    """Kill every connection to the database of ``url`` (as a restarted server would) and wait until
    their server processes are gone; how many."""
    query = "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
    pids = [pid for (pid,) in admin(query, (database_of(url),))]
    killed = sum(1 for pid in pids if admin("SELECT pg_terminate_backend(%s)", (pid,))[0][0])
    deadline = time.monotonic() + 10
    while admin("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,))[0][0]:
        if time.monotonic() > deadline:
            raise AssertionError(f"the server processes {pids} did not end")
        time.sleep(0.01)
    return killed


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test (see the module docstring); its URL."""
    with temporary_database() as url:
        yield url
