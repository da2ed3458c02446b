"""The PostgreSQL backend of the state store: one database that a fleet of processes on many hosts shares.

``store="postgresql://user@host:5432/dbname"`` (also ``postgres://``, ``SCRIPTIX_COMPAT_STORE`` and the
gateway's ``--store``) opens it; psycopg 3 and psycopg_pool come with the extra
``scriptix-compat[postgres]``. The statements and the migrations are those of
:class:`~compat.store.sql.SQLStore`; this module provides the connections.

**Connections.** Opening the store connects once on its own, migrates the schema and reads the HMAC
key, and closes that connection. The pool (:class:`psycopg_pool.ConnectionPool`, autocommit
connections; one the server ended while it sat idle is dropped before it is handed out, at the
cost of a ``select``, not a round trip) is made on the first operation, in the process
that runs it: a gateway that opens its store and then forks workers gives each worker a pool of
its own. A store that finds itself in a child process (after ``os.fork``) forgets the pool it
inherited without closing it (its sockets are the parent's) and makes a new one.

**Never a hang.** Every connection is opened with ``connect_timeout``, TCP keepalives and
``tcp_user_timeout``, and runs with ``statement_timeout`` and ``lock_timeout``; waiting for a pooled
connection is bounded too. A URL that sets any of these keeps its own value. A failure of the
database (unreachable, restarted, a connection killed, a timeout) is a
:class:`~compat.errors.StoreError` (503 with a V1 error body); the pool replaces broken connections
and reconnects by itself, so calls succeed again once the database is back, without a restart.

**Races.** A claim is one conditional ``UPDATE`` inside a transaction: PostgreSQL locks the row, and
a concurrent ``UPDATE`` of the same row waits and then re-checks its condition, so exactly one wins.
Migrations take a transaction-level advisory lock (``pg_advisory_xact_lock``) and run in that one
transaction (PostgreSQL's DDL is transactional): replicas that open an old database at once migrate
it once, and a failed migration leaves it as it was.

**Time.** Leases are measured on the database server's clock (read at open and every few minutes,
carried forward with the local monotonic clock), so hosts whose clocks disagree still agree on
when a lease ran out.

**Secrets.** The URL may hold a password: it is kept only in the connection string handed to
psycopg; :func:`repr`, log lines and error messages show the URL with the password replaced.
"""

from __future__ import annotations

import contextlib
import functools
import os
import select
import threading
import time
import weakref
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import psycopg
import psycopg.errors
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout
from tusclient.storage.interface import Storage

from compat.errors import ConfigurationError, StoreError
from compat.redact import REDACTED, redact_url_password, register_secret
from compat.store.schema import VERSION_KEY
from compat.store.sql import SQLStore

__all__ = ["APPLICATION_NAME", "PostgreSQLStore"]

# pg_advisory_xact_lock's key for the migrations (any fixed 64-bit number; per database)
_MIGRATION_LOCK = 0x5C217C0A_57A7E001
_CLOCK = "SELECT EXTRACT(EPOCH FROM clock_timestamp())::float8"
_CLOCK_REFRESH = 600.0  # seconds between readings of the server's clock
_TABLES = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
_COLUMNS = "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?"

_CLIENTS = (
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND application_name = ? AND pid <> pg_backend_pid()"
)
APPLICATION_NAME = "scriptix-compat"
"""The ``application_name`` a store's connections have unless the URL or the constructor sets another."""

_Connection = psycopg.Connection[tuple[Any, ...]]

# Stores of this process, so that a child made by os.fork forgets their pools at once.
_STORES: weakref.WeakSet[PostgreSQLStore] = weakref.WeakSet()


class PostgreSQLStore(SQLStore, Storage):  # type: ignore[misc]
    """The state store in a PostgreSQL database, shared by every process and host that opens it.

    ``url`` is a ``postgresql://`` (or ``postgres://``) URL as libpq reads it; a password is better
    kept out of it (``PGPASSWORD``, ``~/.pgpass``), and is never shown when it is in it. Opening
    creates or migrates the schema (:attr:`schema_version`); a database of a newer schema, or one
    that cannot be reached, is refused with a :class:`~compat.errors.ConfigurationError`.

    The keywords size the pool and bound every wait: ``min_size``/``max_size`` connections per
    process; ``wait_timeout`` seconds for a pooled connection, ``connect_timeout`` to open one,
    ``statement_timeout`` for a statement, ``lock_timeout`` for a row or the migration lock (the
    last three unless the URL sets them itself).
    """

    dialect = "postgresql"

    def __init__(
        self,
        url: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        wait_timeout: float = 10.0,
        connect_timeout: float = 5.0,
        statement_timeout: float = 30.0,
        lock_timeout: float = 10.0,
        application_name: str = APPLICATION_NAME,
    ) -> None:
        scheme, separator, rest = url.partition("://")
        url = scheme.lower() + separator + rest  # libpq knows the schemes in lower case only
        self.url = redact_url_password(url)  # what is shown; the password stays in _conninfo only
        self._passwords = _passwords(url)
        for password in self._passwords:
            register_secret(password)
        self._min_size, self._max_size, self._wait_timeout = min_size, max_size, wait_timeout
        try:
            given = conninfo_to_dict(url)
        except psycopg.Error as exc:
            raise ConfigurationError(
                f"option 'store': {self.url!r} is not a PostgreSQL URL ({self._scrub(str(exc))})", option="store"
            ) from None
        self._conninfo = make_conninfo(
            url, **_defaults(given, connect_timeout, statement_timeout, lock_timeout, application_name)
        )
        self._local = threading.local()  # the connection of the transaction a thread is in, if any
        self._pool_lock = threading.Lock()
        self._pool: ConnectionPool[_Connection] | None = None
        self._pool_pid = 0
        self._closed = False
        self._clock: tuple[float, float] = (0.0, -_CLOCK_REFRESH)  # (server epoch, local monotonic) at reading
        try:
            with psycopg.connect(self._conninfo, autocommit=True) as connection:
                self._local.conn = connection
                try:
                    self._open()
                    self._read_clock()
                finally:
                    self._local.conn = None
        except (psycopg.Error, StoreError) as exc:
            raise self._unusable(exc) from None
        _STORES.add(self)

    def __repr__(self) -> str:
        return f"PostgreSQLStore({self.url!r})"

    @classmethod
    def probe(cls, url: str, *, connect_timeout: float = 5.0) -> int | None:
        """The schema version of the store in the database at ``url`` (``None``: it holds none yet),
        read over one connection of its own: no pool, no migration, nothing written.

        A database that cannot be reached or read is a :class:`~compat.errors.ConfigurationError`
        saying why; neither it nor anything else shows the URL's password.
        """
        scheme, separator, rest = url.partition("://")
        url = scheme.lower() + separator + rest
        passwords = _passwords(url)
        try:
            conninfo = make_conninfo(
                url, **_defaults(conninfo_to_dict(url), connect_timeout, 10.0, 10.0, APPLICATION_NAME)
            )
            with psycopg.connect(conninfo, autocommit=True) as connection:
                found = connection.execute("SELECT to_regclass('meta')").fetchone()
                if found is None or found[0] is None:
                    return None
                row = connection.execute("SELECT value FROM meta WHERE name = %s", (VERSION_KEY,)).fetchone()
        except psycopg.Error as exc:
            reason = _scrubbed(str(exc).strip(), passwords) or type(exc).__name__
            raise ConfigurationError(
                f"option 'store': cannot reach the PostgreSQL state store {redact_url_password(url)} ({reason})",
                option="store",
            ) from None
        return int(row[0]) if row is not None else None

    def close(self) -> None:
        """Close this process's pool; the store is unusable afterwards (in this process)."""
        with self._pool_lock:
            self._closed = True
            pool, self._pool = self._pool, None
            if pool is not None and self._pool_pid == os.getpid():
                pool.close()

    # -- the connection --------------------------------------------------------------------------

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one statement (``?`` parameters); its rows. A failure of the database is a
        :class:`~compat.errors.StoreError`."""
        try:
            with self._connection() as connection:
                cursor = connection.execute(*_query(sql, params))
                return cursor.fetchall() if cursor.description is not None else []
        except psycopg.Error as exc:
            raise self._error(exc) from exc

    def write(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        """Run one ``INSERT``/``UPDATE``/``DELETE`` (``?`` parameters); how many rows it changed."""
        try:
            with self._connection() as connection:
                return connection.execute(*_query(sql, params)).rowcount
        except psycopg.Error as exc:
            raise self._error(exc) from exc

    @contextlib.contextmanager
    def _transaction(self, *, exclusive: bool = False) -> Iterator[None]:
        outer = getattr(self._local, "conn", None)
        try:
            with self._connection() as connection, connection.transaction():
                self._local.conn = connection
                try:
                    if exclusive:
                        connection.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                    yield
                finally:
                    self._local.conn = outer
        except psycopg.Error as exc:
            raise self._error(exc) from exc

    @contextlib.contextmanager
    def _connection(self) -> Iterator[_Connection]:
        """The thread's transaction connection if it is in one, else a pooled connection."""
        current: _Connection | None = getattr(self._local, "conn", None)
        if current is not None:
            yield current
            return
        with self._pool_of_this_process().connection(timeout=self._wait_timeout) as connection:
            yield connection

    def _pool_of_this_process(self) -> ConnectionPool[_Connection]:
        pool = self._pool
        if pool is not None and self._pool_pid == os.getpid():
            return pool
        if self._pool_pid not in (0, os.getpid()):
            self._forget_inherited_pool()  # forked by other means than os.fork (no at-fork hook ran)
        with self._pool_lock:
            if self._closed:  # a programming error, as with a closed SQLite store: not a StoreError to retry
                raise RuntimeError(f"the state store {self.url} is closed")
            if self._pool is None:
                self._pool = ConnectionPool(
                    self._conninfo,
                    kwargs={"autocommit": True},
                    min_size=self._min_size,
                    max_size=self._max_size,
                    timeout=self._wait_timeout,
                    check=_still_open,
                    name="scriptix-compat-store",
                    num_workers=2,
                    open=True,
                )
                self._pool_pid = os.getpid()
            return self._pool

    def _forget_inherited_pool(self) -> None:
        """In a child process: drop the parent's pool unclosed (its sockets are the parent's; psycopg
        does not close a connection it finds after a fork) and start afresh."""
        self._pool = None
        self._pool_pid = 0
        self._pool_lock = threading.Lock()  # another thread of the parent may have held it at the fork
        self._local = threading.local()

    # -- what SQLStore asks of a backend -----------------------------------------------------------

    def _tables(self) -> set[str]:
        return {str(row[0]) for row in self.execute(_TABLES)}

    def _columns(self, table: str) -> set[str]:
        return {str(row[0]) for row in self.execute(_COLUMNS, (table,))}

    def _where(self) -> str:
        return self.url

    def _other_clients(self) -> int:
        """Connections of other scriptix-compat processes to this database (by their application_name)."""
        [(count,)] = self.execute(_CLIENTS, (APPLICATION_NAME,))
        return int(count)

    def _now(self) -> float:
        """The database server's clock (epoch seconds): every host measures leases against it."""
        epoch, at = self._clock
        if time.monotonic() - at >= _CLOCK_REFRESH:
            self._read_clock()
            epoch, at = self._clock
        return epoch + (time.monotonic() - at)

    def _read_clock(self) -> None:
        before = time.monotonic()
        [(server,)] = self.execute(_CLOCK)
        after = time.monotonic()
        self._clock = (float(server), (before + after) / 2)

    # -- errors --------------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        """``text`` (a driver's message) on one line, without the URL's password."""
        return _scrubbed(text, self._passwords)

    def _error(self, exc: psycopg.Error) -> StoreError:
        detail = self._scrub(str(exc).strip()) or type(exc).__name__
        return StoreError(f"the state store {self.url} cannot be used: {detail}", reason=self._reason(exc))

    def _reason(self, exc: psycopg.Error) -> str:
        """Why, in words a caller may see (the V1 body): never a host, a user or a statement."""
        state = exc.sqlstate or ""
        if isinstance(exc, PoolTimeout):
            return f"no connection to its database within {self._wait_timeout:g} s"
        if isinstance(exc, PoolClosed):
            return "it is closed"
        if isinstance(exc, psycopg.errors.QueryCanceled):
            return "a statement ran out of time"
        if isinstance(exc, psycopg.errors.LockNotAvailable):
            return "a lock was not granted in time"
        if state.startswith(("08", "57")) or (not state and isinstance(exc, psycopg.OperationalError)):
            return "its database cannot be reached"
        if state.startswith("53"):
            return "its database is out of resources"
        if isinstance(exc, psycopg.InterfaceError):
            return "its database connection was lost"
        return f"database error {state or type(exc).__name__}"

    def _unusable(self, exc: Exception) -> ConfigurationError:
        reason = self._scrub(str(exc.__cause__ or exc).strip()) if isinstance(exc, StoreError) else ""
        reason = reason or self._scrub(str(exc).strip())
        return ConfigurationError(
            f"option 'store': cannot use the PostgreSQL state store {self.url} ({reason})", option="store"
        )


def _scrubbed(text: str, passwords: list[str]) -> str:
    """``text`` (a driver's message) on one line, without any of ``passwords`` or a URL's password."""
    for password in passwords:
        text = text.replace(password, REDACTED)
    return redact_url_password(" ".join(text.split()))


def _still_open(connection: _Connection) -> None:
    """The pool's check of a connection before it hands it out, without a round trip: an idle
    connection with anything to read (the server's notice that it terminated the session, or the
    end of the stream after a restart) is dropped, and the pool gives out another one."""
    if connection.closed or connection.broken:
        raise psycopg.OperationalError("the connection is closed")
    readable, _, _ = select.select([connection.fileno()], [], [], 0)
    if readable:
        connection.close()  # so that the pool discards it (and opens a new one), not takes it back
        raise psycopg.OperationalError("the server ended the connection while it was idle")


@functools.lru_cache(maxsize=256)
def _placeholders(sql: str) -> str:
    """The portable ``?`` parameters as psycopg's ``%s`` (a literal ``%`` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


def _query(sql: str, params: tuple[Any, ...]) -> tuple[str, tuple[Any, ...] | None]:
    return (_placeholders(sql), params) if params else (sql, None)


def _defaults(
    given: dict[str, Any], connect_timeout: float, statement_timeout: float, lock_timeout: float, name: str
) -> dict[str, Any]:
    """The connection parameters this store adds to the URL's (the URL's own win)."""
    extra: dict[str, Any] = {}
    wanted = {
        "connect_timeout": max(1, round(connect_timeout)),
        "application_name": name,
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
        "tcp_user_timeout": round(statement_timeout * 1000),
    }
    extra.update({key: value for key, value in wanted.items() if key not in given})
    options = str(given.get("options") or os.environ.get("PGOPTIONS", ""))
    settings = [options] if options else []
    for setting, seconds in (("statement_timeout", statement_timeout), ("lock_timeout", lock_timeout)):
        if setting not in options:
            settings.append(f"-c {setting}={round(seconds * 1000)}")
    extra["options"] = " ".join(settings)
    return extra


def _passwords(url: str) -> list[str]:
    """The password(s) a URL holds, as written and decoded: what must never be shown."""
    found: list[str] = []
    userinfo = url.partition("://")[2].partition("@")
    if userinfo[1] and "/" not in userinfo[0] and ":" in userinfo[0]:
        found.append(userinfo[0].partition(":")[2])
    for part in url.partition("?")[2].split("&"):
        key, _, value = part.partition("=")
        if key.lower() == "password":
            found.append(value)
    found += [unquote(password) for password in found]
    return [password for password in dict.fromkeys(found) if password]


def _after_fork_in_child() -> None:
    for store in list(_STORES):
        store._forget_inherited_pool()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
