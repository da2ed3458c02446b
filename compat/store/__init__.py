"""The state store: what the shim keeps beyond one process, behind one interface.

What is kept: the store's own ``meta`` (its schema version and the random key of
:meth:`~Store.token_digest`), the resume URL of every unfinished TUS upload (``uploads``, tuspy's
``Storage``), the sessions the shim created with their sealed V1 options and upload claim
(``sessions``, see :mod:`compat.sessions`), and which session each ``transcribe`` run created
(``transcribe_jobs``, see :mod:`compat.jobs`), and a digest per confirmed chunk of each
session's media upload (``upload_receipts``: a retried PUT is checked against them). Tokens are
never stored, only keyed hashes of them.

The modules, one job each:

- :mod:`~compat.store.interface`: :class:`Store`, every operation the shim needs of its state.
  Code above the store holds a ``Store`` and never writes SQL.
- :mod:`~compat.store.schema`: the schema as numbered migrations (version N = migrations 1..N).
- :mod:`~compat.store.sql`: :class:`~compat.store.sql.SQLStore`, the interface written once in
  portable SQL, and the migration of the schema on open.
- :mod:`~compat.store.sqlite`: :class:`SQLiteStore`, the SQLite backend (a file, or memory).
- :mod:`~compat.store.postgresql`: :class:`~compat.store.postgresql.PostgreSQLStore`, the PostgreSQL
  backend (a fleet's shared store; psycopg 3, in the extra ``scriptix-compat[postgres]``).
- :mod:`~compat.store.copy`: copying every row of one store into another, empty one
  (``scriptix-compat store migrate``).

**Versions.** Opening a store migrates it to :func:`~compat.store.schema.latest_version` inside one
exclusive transaction, so processes opening an old store at once migrate it once, and a failed
migration leaves the store as it was. The version is the ``meta`` row ``schema_version``
(:attr:`Store.schema_version`); a store made before that row existed is recognised by its tables.
A store of a newer version than the code knows is refused with a
:class:`~compat.errors.ConfigurationError`, never downgraded.

**Adding a table** (say, rows for ``media_source`` jobs) is an addition, not a rewrite:

1. append ``Migration(N + 1, "what it adds", ("CREATE TABLE jobs (...)", ...))`` to
   :data:`~compat.store.schema.MIGRATIONS` (portable SQL; write ``{blob}``/``{real}`` for those types;
   a released migration is never edited);
2. name the operations on it in :class:`Store`, with typed arguments and a frozen dataclass per row;
3. implement them once in :class:`~compat.store.sql.SQLStore`: ``?`` parameters, SQL that SQLite and
   PostgreSQL both run; a race between processes is one conditional ``UPDATE`` (see
   ``claim_session``), statements that must hold together go inside ``self._transaction()``;
4. test that a new store has it and that a store of the previous version (a checked-in fixture
   under ``tests/fixtures/``) migrates.

**Another backend** subclasses :class:`~compat.store.sql.SQLStore` with its own connection, runs
the same statements and the same migrations, and is chosen in :func:`open_store` (as PostgreSQL is,
by its URL scheme).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from compat.errors import ConfigurationError, StoreError
from compat.store.interface import SessionChanges, Store, StoredClaim, StoredReceipt, StoredSession, TransferState
from compat.store.schema import latest_version
from compat.store.sqlite import SQLiteStore

if TYPE_CHECKING:
    from compat.store.postgresql import PostgreSQLStore

__all__ = [
    "SQLiteStore",
    "SessionChanges",
    "Store",
    "StoreError",
    "StoredClaim",
    "StoredReceipt",
    "StoredSession",
    "TransferState",
    "is_postgresql_url",
    "latest_version",
    "open_store",
    "postgresql_store_class",
]

_POSTGRESQL_SCHEMES = ("postgresql://", "postgres://")


def is_postgresql_url(value: str) -> bool:
    """Whether a ``store`` value names a PostgreSQL database (``postgresql://`` or ``postgres://``)."""
    return value.lower().startswith(_POSTGRESQL_SCHEMES)


def open_store(store: str | os.PathLike[str] | Store) -> Store:
    """The store for an option value: an open store as is; a ``postgresql://`` (or ``postgres://``)
    URL for PostgreSQL; else a path (or ``":memory:"``) for SQLite.

    PostgreSQL needs the extra ``scriptix-compat[postgres]``: without it the answer is a
    :class:`~compat.errors.ConfigurationError` that says so (and never repeats the URL's password).
    """
    if not isinstance(store, str | os.PathLike):
        return store
    value = os.fspath(store)
    if is_postgresql_url(value):
        return postgresql_store_class()(value)
    return SQLiteStore(value)


def postgresql_store_class() -> type[PostgreSQLStore]:
    """:class:`~compat.store.postgresql.PostgreSQLStore`, imported now; without the extra
    ``scriptix-compat[postgres]`` a :class:`~compat.errors.ConfigurationError` that says so."""
    try:
        from compat.store.postgresql import PostgreSQLStore
    except ImportError as exc:
        raise ConfigurationError(
            "option 'store': a PostgreSQL store needs psycopg 3, which comes with the extra:"
            f" pip install 'scriptix-compat[postgres]' ({exc})",
            option="store",
        ) from None
    return PostgreSQLStore
