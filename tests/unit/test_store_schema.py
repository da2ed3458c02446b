"""The store's schema version and its migrations on open.

The old store is ``tests/fixtures/store_v0``: a file made by the release before versioning (its
README says how), copied to a temporary directory for each test and never written in place.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pg_guard import admin, database_of
from store_backends import Backend

import compat
import compat.errors
from compat import ConfigurationError, LegacyClient, SQLiteStore, StoreError
from compat.jobs import JobBook
from compat.sessions import SessionBook
from compat.store import schema
from compat.store.schema import Migration, latest_version, render

FIXTURE = Path(__file__).parents[1] / "fixtures" / "store_v0"
EXPECTED: dict[str, Any] = json.loads((FIXTURE / "expected.json").read_text())
CLAIM_COLUMNS = {"claim_holder", "claim_until", "claim_prior"}
MIGRATED = "migrated the state store"
TOKEN = "schema-test-token-3f9a0c"  # distinctive: a token given to a client is redacted everywhere after


@pytest.fixture
def old_store(tmp_path: Path) -> Path:
    """A copy of the store made before versioning (the fixture itself is never opened)."""
    path = tmp_path / "old.sqlite3"
    shutil.copy(FIXTURE / "state.sqlite3", path)
    return path


@pytest.fixture
def stores() -> Iterator[list[SQLiteStore]]:
    opened: list[SQLiteStore] = []
    yield opened
    for store in opened:
        store.close()


def open_(stores: list[SQLiteStore], path: Path | str) -> SQLiteStore:
    store = SQLiteStore(path)
    stores.append(store)
    return store


def plain(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one statement on a connection of its own (as another program would)."""
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        return db.execute(sql, params).fetchall()


def dump(path: Path) -> list[str]:
    """Everything the file holds, schema and rows, as SQL text."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        return list(db.iterdump())


def columns(path: Path, table: str) -> set[str]:
    return {str(row[1]) for row in plain(path, f"PRAGMA table_info({table})")}


def recorded_version(path: Path) -> list[tuple[Any, ...]]:
    return plain(path, "SELECT value FROM meta WHERE name = 'schema_version'")


# a new store --------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["file", "memory"])
def test_a_new_store_reports_the_latest_version(tmp_path: Path, stores: list[SQLiteStore], where: str) -> None:
    path = tmp_path / "new.sqlite3"
    store = open_(stores, path if where == "file" else ":memory:")
    assert store.schema_version == latest_version() == len(schema.MIGRATIONS)
    assert {row[0] for row in store.execute("SELECT name FROM sqlite_master WHERE type = 'table'")} == {
        "meta",
        "uploads",
        "sessions",
        "transcribe_jobs",
        "upload_receipts",
    }
    assert {row[1] for row in store.execute("PRAGMA table_info(sessions)")} >= CLAIM_COLUMNS
    if where == "file":
        assert recorded_version(path) == [(str(latest_version()),)]  # kept in the store, not in the code


# the store made before versioning ------------------------------------------------------------------


def test_a_store_made_before_versioning_is_migrated_and_keeps_everything(
    old_store: Path, stores: list[SQLiteStore], caplog: pytest.LogCaptureFixture
) -> None:
    assert recorded_version(old_store) == [] and not CLAIM_COLUMNS & columns(old_store, "sessions")
    [(key_before,)] = plain(old_store, "SELECT value FROM meta WHERE name = 'hmac_key'")
    owners_before = dict(plain(old_store, "SELECT session_id, owner FROM sessions"))

    with caplog.at_level(logging.INFO, logger="compat.store"):
        store = open_(stores, old_store)
    assert store.schema_version == latest_version()
    assert recorded_version(old_store) == [(str(latest_version()),)]
    assert columns(old_store, "sessions") >= CLAIM_COLUMNS
    assert f"{MIGRATED} {old_store} from schema version 1 to {latest_version()}" in caplog.text

    # the HMAC key is kept, so every token still hashes to the owner recorded before
    assert plain(old_store, "SELECT value FROM meta WHERE name = 'hmac_key'") == [(key_before,)]
    book = SessionBook(store)
    for token, session_ids in EXPECTED["tokens"].items():
        for session_id in session_ids:
            assert store.token_digest(token) == owners_before[session_id]
            record = book.open(token, session_id)
            assert record, f"{session_id} does not open with its token any more"
            wanted = EXPECTED["sessions"][session_id]
            assert record.options == wanted["options"]  # decrypted with the token, as it was sealed
            assert (record.state, record.filename, record.media_type) == (
                wanted["state"],
                wanted["filename"],
                wanted["media_type"],
            )
    for key, url in EXPECTED["uploads"].items():
        assert store.get_item(key) == url
    assert [entry[:2] for entry in store.pending_uploads()] == list(EXPECTED["uploads"].items())


def test_opening_a_migrated_store_again_changes_nothing(
    old_store: Path, stores: list[SQLiteStore], caplog: pytest.LogCaptureFixture
) -> None:
    open_(stores, old_store).close()
    before = dump(old_store)
    with caplog.at_level(logging.INFO, logger="compat.store"):
        again = open_(stores, old_store)
    assert again.schema_version == latest_version()
    assert dump(old_store) == before
    assert MIGRATED not in caplog.text


@pytest.mark.parametrize("with_jobs", [False, True], ids=["claims", "claims-and-transcribe-jobs"])
def test_a_store_made_by_a_later_release_before_versioning_is_not_migrated_twice(
    old_store: Path, stores: list[SQLiteStore], with_jobs: bool
) -> None:
    # what that release's SessionBook did to a sessions table: three added columns, no version row
    for column, kind in (("claim_holder", "TEXT"), ("claim_until", "REAL"), ("claim_prior", "TEXT")):
        plain(old_store, f"ALTER TABLE sessions ADD COLUMN {column} {kind}")
    if with_jobs:  # and what its JobBook made on the first `transcribe`
        plain(
            old_store,
            "CREATE TABLE transcribe_jobs (key TEXT PRIMARY KEY, session_id TEXT NOT NULL, created_at REAL NOT NULL)",
        )
        plain(old_store, "INSERT INTO transcribe_jobs VALUES ('job-1', 'sess-beta-1', 1.0)")
    store = open_(stores, old_store)  # adding the columns or the table again would fail
    assert store.schema_version == latest_version()
    assert recorded_version(old_store) == [(str(latest_version()),)]
    assert SessionBook(store).open("token-beta", "sess-beta-1")
    assert JobBook(store).session_for("job-1") == ("sess-beta-1" if with_jobs else None)


def test_a_store_that_only_kept_resume_urls_gets_the_sessions_table(tmp_path: Path, stores: list[SQLiteStore]) -> None:
    path = tmp_path / "resume-only.sqlite3"
    # the two tables the first releases' SQLiteStore made (the sessions table came with a LegacyClient)
    plain(path, "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
    plain(path, "CREATE TABLE uploads (key TEXT PRIMARY KEY, url TEXT NOT NULL, created_at REAL NOT NULL)")
    plain(path, "INSERT INTO meta VALUES ('hmac_key', ?)", ("ab" * 32,))
    plain(path, "INSERT INTO uploads VALUES ('k', 'http://127.0.0.1:9/files/1', 1.0)")
    store = open_(stores, path)
    assert store.schema_version == latest_version()
    assert store.get_item("k") == "http://127.0.0.1:9/files/1"
    book = SessionBook(store)
    book.remember(TOKEN, "s1", {"language": "en"})
    claim = book.claim("s1", book.owner_of(TOKEN))
    assert claim is not None
    claim.release()


# a newer store is refused ------------------------------------------------------------------------


def test_a_store_of_a_newer_version_is_refused_and_left_as_it_is(old_store: Path) -> None:
    newer = latest_version() + 1
    plain(old_store, "INSERT INTO meta(name, value) VALUES ('schema_version', ?)", (str(newer),))
    before = dump(old_store)
    with pytest.raises(ConfigurationError) as caught:
        SQLiteStore(old_store)
    assert caught.value.option == "store"
    message = str(caught.value)
    assert f"schema version {newer}" in message and f"up to {latest_version()}" in message
    assert "upgrade scriptix-compat" in message and "never downgraded" in message
    assert dump(old_store) == before  # nothing migrated, nothing "fixed"
    with pytest.raises(ConfigurationError, match="newer than this version"):
        LegacyClient(api_key=TOKEN, base_url="http://127.0.0.1:9", store=str(old_store))


def test_a_store_with_an_unreadable_version_is_refused(old_store: Path) -> None:
    plain(old_store, "INSERT INTO meta(name, value) VALUES ('schema_version', 'two')")
    with pytest.raises(ConfigurationError, match="unreadable schema version 'two'"):
        SQLiteStore(old_store)


# migrations are all or nothing, and once -----------------------------------------------------------


def test_a_failed_migration_leaves_the_store_as_it_was(old_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = Migration(
        latest_version() + 1,
        "a table, then a statement that fails",
        ("CREATE TABLE jobs (job_id TEXT PRIMARY KEY)", "ALTER TABLE no_such_table ADD COLUMN x TEXT"),
    )
    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS, broken))
    before = dump(old_store)
    with pytest.raises(ConfigurationError) as caught:
        SQLiteStore(old_store)
    assert caught.value.option == "store"
    assert f"cannot migrate the state store {old_store} to schema version {broken.version}" in str(caught.value)
    assert dump(old_store) == before  # neither the new table nor the earlier migrations: one transaction
    monkeypatch.undo()
    with contextlib.closing(SQLiteStore(old_store)) as store:  # and the store is still usable
        assert store.schema_version == latest_version()


_CHILD = """
import logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s %(message)s")
from compat.store import SQLiteStore
print("ready", flush=True)
store = SQLiteStore(sys.argv[1])
print(store.schema_version, flush=True)
store.close()
"""


def test_processes_opening_an_old_store_at_once_migrate_it_once(old_store: Path) -> None:
    # Hold the file's write lock while the processes start, so that each finds the old version
    # and then waits for the lock: they all try to migrate at the same moment.
    holder = sqlite3.connect(old_store, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(old_store)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    try:
        for child in children:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready"
        time.sleep(1.0)  # each opens the store, reads its version, and waits for BEGIN IMMEDIATE
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    outcomes = [child.communicate(timeout=60) for child in children]
    for child, (out, err) in zip(children, outcomes, strict=True):
        assert child.returncode == 0, err
        assert out.strip() == str(latest_version())
    assert sum(err.count(MIGRATED) for _, err in outcomes) == 1, [err for _, err in outcomes]
    assert recorded_version(old_store) == [(str(latest_version()),)]
    assert columns(old_store, "sessions") >= CLAIM_COLUMNS


# the migrations themselves -------------------------------------------------------------------------


def test_migrations_are_numbered_one_by_one_and_render_for_each_dialect() -> None:
    assert [m.version for m in schema.MIGRATIONS] == list(range(1, len(schema.MIGRATIONS) + 1))
    for migration in schema.MIGRATIONS:
        assert migration.statements and migration.summary
        for statement in migration.statements:
            lite, postgres = render(statement, "sqlite"), render(statement, "postgresql")
            assert "{" not in lite and "{" not in postgres
            assert "BLOB" not in postgres and "REAL" not in postgres.replace("DOUBLE PRECISION", "")
    created = render(schema.MIGRATIONS[0].statements[2], "postgresql")
    assert "options BYTEA" in created and "created_at DOUBLE PRECISION" in created


# open_store and StoreError ------------------------------------------------------------------------


def test_store_error_lives_in_errors_and_is_exported() -> None:
    assert compat.StoreError is compat.errors.StoreError is compat.store.StoreError is StoreError
    assert "StoreError" in compat.__all__ and "StoreError" in compat.errors.__all__
    assert issubclass(StoreError, compat.ScriptixError)
    error = StoreError("the state store /var/lib/x/state.sqlite3 cannot be used: disk full", reason="disk full")
    assert error.status_code == 503
    assert "disk full" in error.body["error"] and "/var/lib" not in error.body["error"]
    assert "StoreError" in (compat.errors.__doc__ or "")  # in the written-down exception tree


# every backend: a store of an older recorded version, a newer one, a failed migration --------------


def make_store_of_version(backend: Backend, version: int) -> None:
    """What this code made of a store at ``version``: its migrations, the version row, a key and rows."""
    for migration in schema.MIGRATIONS[:version]:
        for statement in migration.statements:
            backend.write(render(statement, "sqlite" if backend.name == "sqlite" else "postgresql"))
    backend.write("INSERT INTO meta(name, value) VALUES ('schema_version', ?)", (str(version),))
    backend.write("INSERT INTO meta(name, value) VALUES ('hmac_key', ?)", ("ab" * 32,))
    backend.write("INSERT INTO uploads VALUES ('k', 'http://127.0.0.1:9/files/1', 1.0)")
    backend.write(
        "INSERT INTO sessions(session_id, owner, options, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
        ("s1", "owner-digest", b"sealed", "new", 1.0, 1.0),
    )


def snapshot(backend: Backend) -> dict[str, Any]:
    """The tables, their columns and the rows of meta and sessions, as another program reads them."""
    return {
        "tables": {table: backend.columns(table) for table in backend.tables()},
        "meta": backend.rows("SELECT name, value FROM meta ORDER BY name"),
        "sessions": backend.rows("SELECT session_id, owner, state FROM sessions"),
    }


def test_a_store_of_an_older_version_is_migrated_and_keeps_its_rows(
    store_backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    make_store_of_version(store_backend, 2)
    assert "transcribe_jobs" not in store_backend.tables()
    with caplog.at_level(logging.INFO, logger="compat.store"):
        store = store_backend.open()
    assert store.schema_version == latest_version()
    assert f"from schema version 2 to {latest_version()}" in caplog.text
    assert "transcribe_jobs" in store_backend.tables()
    assert store_backend.rows("SELECT value FROM meta WHERE name = 'schema_version'") == [
        {"value": str(latest_version())}
    ]
    assert store.get_item("k") == "http://127.0.0.1:9/files/1"
    found = store.get_session("s1")
    assert found is not None and (found.owner, found.sealed_options, found.state) == ("owner-digest", b"sealed", "new")
    assert store.token_digest("t") == store_backend.open().token_digest("t")  # the key was kept, not replaced
    before = snapshot(store_backend)
    with caplog.at_level(logging.INFO, logger="compat.store"):
        caplog.clear()
        store_backend.open()
    assert snapshot(store_backend) == before and MIGRATED not in caplog.text  # once only


def test_a_failed_migration_leaves_any_store_as_it_was(store_backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    make_store_of_version(store_backend, 2)
    broken = Migration(
        latest_version() + 1,
        "a table, then a statement that fails",
        ("CREATE TABLE jobs (job_id TEXT PRIMARY KEY)", "ALTER TABLE no_such_table ADD COLUMN x TEXT"),
    )
    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS, broken))
    before = snapshot(store_backend)
    with pytest.raises(ConfigurationError) as caught:
        store_backend.open()
    assert caught.value.option == "store"
    assert f"to schema version {broken.version}" in str(caught.value)
    assert snapshot(store_backend) == before  # not even migration 3: one transaction
    monkeypatch.undo()
    assert store_backend.open().schema_version == latest_version()  # and the store is still usable


def test_a_store_of_a_newer_version_is_refused_on_every_backend(store_backend: Backend) -> None:
    make_store_of_version(store_backend, latest_version())
    newer = latest_version() + 1
    store_backend.write("UPDATE meta SET value = ? WHERE name = 'schema_version'", (str(newer),))
    before = snapshot(store_backend)
    with pytest.raises(ConfigurationError, match=f"schema version {newer}, newer than this version"):
        store_backend.open()
    assert snapshot(store_backend) == before


def test_a_new_store_has_every_table_on_every_backend(store_backend: Backend) -> None:
    store = store_backend.open()
    assert store.schema_version == latest_version()
    assert store_backend.tables() == {"meta", "uploads", "sessions", "transcribe_jobs", "upload_receipts"}
    assert store_backend.columns("sessions") >= CLAIM_COLUMNS
    assert store_backend.rows("SELECT value FROM meta WHERE name = 'schema_version'") == [
        {"value": str(latest_version())}
    ]


_PG_CHILD = """
import logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s %(message)s")
from compat.store import open_store
print("ready", flush=True)
store = open_store(sys.argv[1])
print(store.schema_version, flush=True)
store.close()
"""


def test_processes_opening_an_old_postgresql_store_at_once_migrate_it_once(postgres_url: str) -> None:
    import psycopg

    from compat.store.postgresql import _MIGRATION_LOCK

    backend = Backend("postgresql", postgres_url)
    make_store_of_version(backend, 2)
    # Hold the migration lock while the processes start, so that each finds the old version and
    # then waits for the lock: they all try to migrate at the same moment.
    with psycopg.connect(postgres_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
        children = [
            subprocess.Popen(
                [sys.executable, "-c", _PG_CHILD, postgres_url],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        for child in children:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # every child waits for the lock
            waiting = admin(
                "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
                " WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = %s",
                (database_of(postgres_url),),
            )
            if waiting[0][0] == len(children):
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the processes did not all wait for the migration lock")
        holder.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))
    outcomes = [child.communicate(timeout=60) for child in children]
    for child, (out, err) in zip(children, outcomes, strict=True):
        assert child.returncode == 0, err
        assert out.strip() == str(latest_version())
    assert sum(err.count(MIGRATED) for _, err in outcomes) == 1, [err for _, err in outcomes]
    assert "transcribe_jobs" in backend.tables()
