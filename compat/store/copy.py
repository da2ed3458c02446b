"""Copying one state store into another, empty one: ``scriptix-compat store migrate --from PATH --to URL``.

The way from one host to a fleet: the SQLite file a gateway or client has kept so far is copied into
the PostgreSQL database the fleet will share. Every table is copied whole, ``meta`` included, so the
HMAC key travels with the rows: the owners recorded as keyed hashes of tokens, and the V1 options
sealed with keys derived from them, stay valid. Sessions keep their state and their claim, resume
URLs and ``transcribe`` jobs come along.

Both stores are opened first, so both are migrated to the code's schema version (an older SQLite
file is migrated in place, as any open would). The source is read in one transaction (a consistent
snapshot; writers of a SQLite file wait), and the target is written in one transaction under the
migration lock: a failure leaves it as it was, and the command can simply be run again.

The target must hold no rows of its own (a new database, or one that opening has only given the
schema, its version and a key): copying into a store in use would mix two keys' worth of owners,
so that is refused, never merged or overwritten. A PostgreSQL target that other scriptix-compat
processes are connected to (known by their ``application_name``, ``scriptix-compat``) is refused
too: they have read the key the copy replaces. Stop them (or start them only after the copy).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, TextIO

from compat.config import MEMORY_STORE
from compat.errors import ConfigurationError
from compat.store import SQLiteStore, is_postgresql_url, postgresql_store_class
from compat.store.schema import VERSION_KEY
from compat.store.sql import SQLStore

__all__ = ["CopyReport", "copy_store", "migrate_command", "refused"]

META = "meta"
_OWN_META = {VERSION_KEY, "hmac_key"}  # what opening a new store writes by itself
_APPLICATION_NAME = "scriptix-compat store migrate"  # not counted among the target's other clients


def refused(reason: str) -> ConfigurationError:
    """The copy is not made (the target holds rows, is in use, or is the source): nothing changed."""
    return ConfigurationError(f"store migrate: {reason}", option="store")


@dataclass(frozen=True)
class CopyReport:
    """What :func:`copy_store` copied: rows per table, and the schema version of both stores."""

    source: str
    target: str
    schema_version: int
    source_migrated_from: int | None
    rows: dict[str, int] = field(default_factory=dict)


def copy_store(source: SQLStore, target: SQLStore) -> CopyReport:
    """Copy every row of ``source`` into ``target`` (both open, so at the same schema version).

    Raises a :class:`~compat.errors.ConfigurationError` when ``target`` holds rows of its own or other
    processes use it; a :class:`~compat.errors.StoreError` when either store fails. Either way
    ``target`` is unchanged.
    """
    if source.schema_version != target.schema_version:  # both are at the code's version once open
        raise refused(
            f"the stores have schema versions {source.schema_version} and {target.schema_version}; open both with"
            " the same version of scriptix-compat"
        )
    tables = sorted(target._tables())
    columns = {table: sorted(target._columns(table)) for table in tables}
    with source._transaction():
        found = source._tables()
        missing = [table for table in tables if table not in found]
        if missing:
            raise refused(f"the source store {source._where()} has no table {', '.join(missing)}")
        rows = {table: source.execute(f"SELECT {', '.join(columns[table])} FROM {table}") for table in tables}
    with target._transaction(exclusive=True):
        _check_empty(target, tables)
        others = target._other_clients()
        if others:
            raise refused(
                f"{others} other scriptix-compat connection(s) use the target store {target._where()}: stop"
                " every gateway and client on it first (they hold the key this copy replaces)"
            )
        for table in tables:
            _insert(target, table, columns[table], rows[table])
    return CopyReport(
        source=source._where(),
        target=target._where(),
        schema_version=target.schema_version,
        source_migrated_from=source.migrated_from,
        rows={table: len(rows[table]) for table in tables},
    )


def _check_empty(target: SQLStore, tables: list[str]) -> None:
    held = []
    for table in tables:
        if table == META:
            names = {str(name) for (name,) in target.execute(f"SELECT name FROM {META}")}
            if names - _OWN_META:
                held.append(META)
        elif target.execute(f"SELECT 1 FROM {table} LIMIT 1"):
            held.append(table)
    if held:
        raise refused(
            f"the target store {target._where()} is not empty (rows in {', '.join(held)}); copy only into a"
            " new database (or drop its tables first): a store in use is never merged or overwritten"
        )


def _insert(target: SQLStore, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    names = ", ".join(columns)
    marks = ", ".join("?" for _ in columns)
    statement = f"INSERT INTO {table}({names}) VALUES ({marks})"
    if table == META:  # the target's own version and key give way to the source's
        statement += " ON CONFLICT (name) DO UPDATE SET value = excluded.value"
    for row in rows:
        target.write(statement, tuple(row))


def _open(value: str, *, role: str) -> SQLStore:
    if value == MEMORY_STORE:
        raise refused(f"the {role} store cannot be ':memory:' (nothing would be kept)")
    if is_postgresql_url(value):
        return postgresql_store_class()(value, application_name=_APPLICATION_NAME)
    if role == "source" and not os.path.isfile(value):
        raise refused(f"the source store {value} does not exist (no file there)")
    return SQLiteStore(value)


def migrate_command(source: str, target: str, out: TextIO) -> None:
    """``scriptix-compat store migrate``: open both stores, copy, print what was copied to ``out``.

    Raises a :class:`~compat.errors.ConfigurationError` when the copy is refused or a store cannot be
    opened (nothing copied), a :class:`~compat.errors.StoreError` when a store fails during the copy.
    """
    if source == target:
        raise refused("--from and --to name the same store")
    opened: list[SQLStore] = []
    try:
        opened.append(_open(source, role="source"))
        opened.append(_open(target, role="target"))
        report = copy_store(*opened)
    finally:
        for store in opened:
            store.close()
    migrated = (
        f", migrated from schema version {report.source_migrated_from} first"
        if report.source_migrated_from is not None
        else ""
    )
    print(f"copied the state store {report.source} into {report.target}", file=out)
    print(f"  schema version {report.schema_version}{migrated}", file=out)
    for table, count in report.rows.items():
        note = " (its HMAC key: stored owners and sealed options stay valid)" if table == META else ""
        print(f"  {table}: {count} row(s){note}", file=out)
