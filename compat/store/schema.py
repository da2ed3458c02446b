"""The store's schema as numbered migrations: a store of version N holds what migrations 1..N made.

Each :class:`Migration` is a list of statements that every backend runs. A statement is portable
SQL in which the few type names that differ between dialects are written as ``{blob}`` and
``{real}`` (:data:`TYPES`); where a statement cannot be portable at all it is given as one text per
dialect (``{"sqlite": ..., "postgresql": ...}``). The version a store has reached is the ``meta`` row
``schema_version``; :func:`version_before_versioning` names the version of a store made before
that row existed.

Migrations are never edited once released: a change is a new migration at the end.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, TypeAlias

__all__ = [
    "MIGRATIONS",
    "TYPES",
    "VERSION_KEY",
    "Dialect",
    "Migration",
    "Statement",
    "latest_version",
    "pending",
    "render",
    "version_before_versioning",
]

Dialect = Literal["sqlite", "postgresql"]

TYPES: Mapping[Dialect, Mapping[str, str]] = {
    "sqlite": {"blob": "BLOB", "real": "REAL"},
    "postgresql": {"blob": "BYTEA", "real": "DOUBLE PRECISION"},
}
"""The type names each dialect spells its own way, by the name a statement uses for them."""

Statement: TypeAlias = "str | Mapping[Dialect, str]"
"""Portable SQL (with ``{blob}``/``{real}``), or one text per dialect."""

VERSION_KEY = "schema_version"
"""The ``meta`` row that holds the version a store has reached."""


@dataclass(frozen=True)
class Migration:
    """What takes a store from ``version - 1`` to ``version``."""

    version: int
    summary: str
    statements: tuple[Statement, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "meta, uploads and sessions as the first release made them",
        # IF NOT EXISTS: a store made before versioning may hold some of these tables already
        (
            "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS uploads (key TEXT PRIMARY KEY, url TEXT NOT NULL, created_at {real} NOT NULL)",
            "CREATE TABLE IF NOT EXISTS sessions ("
            " session_id TEXT PRIMARY KEY, owner TEXT NOT NULL, options {blob} NOT NULL, state TEXT NOT NULL,"
            " filename TEXT, media_type TEXT, error TEXT, created_at {real} NOT NULL, updated_at {real} NOT NULL)",
        ),
    ),
    Migration(
        2,
        "the upload claim on sessions: its holder, the end of its lease, the state before it",
        (
            "ALTER TABLE sessions ADD COLUMN claim_holder TEXT",  # a random id per claim, or NULL
            "ALTER TABLE sessions ADD COLUMN claim_until {real}",  # when the lease ends unless renewed (epoch s)
            "ALTER TABLE sessions ADD COLUMN claim_prior TEXT",  # the state before the claim (back on release)
        ),
    ),
    Migration(
        3,
        "transcribe_jobs: which session a `transcribe` run created (see compat.jobs)",
        # IF NOT EXISTS: the release before versioning created it on first use
        (
            "CREATE TABLE IF NOT EXISTS transcribe_jobs"
            " (key TEXT PRIMARY KEY, session_id TEXT NOT NULL, created_at {real} NOT NULL)",
        ),
    ),
    Migration(
        4,
        "upload_receipts: a digest per chunk of a session's media upload, to check a retried body against",
        # BIGINT: byte positions pass 2 GiB (SQLite reads it as INTEGER, 64-bit there too)
        (
            "CREATE TABLE upload_receipts ("
            " session_id TEXT NOT NULL, upload_url TEXT NOT NULL, upload_length BIGINT, byte_offset BIGINT NOT NULL,"
            " length BIGINT NOT NULL, digest TEXT NOT NULL, created_at {real} NOT NULL,"
            " PRIMARY KEY (session_id, byte_offset))",
        ),
    ),
)


def latest_version() -> int:
    """The version this code brings a store to."""
    return MIGRATIONS[-1].version


def pending(found: int) -> list[Migration]:
    """The migrations a store of version ``found`` still needs, in order."""
    return [migration for migration in MIGRATIONS if migration.version > found]


def render(statement: Statement, dialect: Dialect) -> str:
    """The text of ``statement`` for ``dialect``."""
    text = statement if isinstance(statement, str) else statement[dialect]
    return text.format_map(TYPES[dialect])


def version_before_versioning(tables: set[str], session_columns: set[str]) -> int:
    """The version of a store without a ``schema_version`` row, from the tables it holds.

    Such a store was made by a release before versioning (SQLite only): with ``sessions`` and its
    claim columns it is version 2, with ``sessions`` alone version 1; a store without ``sessions``
    (one that only ever kept resume URLs) or without any table is 0, and migration 1 completes it.
    Migration 3 creates its table only if missing, so a store that has it already is version 2 here.
    """
    if "sessions" not in tables:
        return 0
    return 2 if "claim_holder" in session_columns else 1
