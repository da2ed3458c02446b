"""``scriptix-compat store migrate --from PATH --to URL``: a host's SQLite store copied into PostgreSQL.

Every row is copied with the store's HMAC key, so tokens keep their sessions and sealed options
open; an older SQLite store is migrated on open first (``tests/fixtures/store_v0``, made before
versioning); a target with rows, or in use, is refused and left as it was; a failed copy changes
nothing and can be run again.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_v3 import FakeV3
from pytest_httpserver import HTTPServer
from store_backends import Backend

from compat import LegacyClient, StoreError
from compat.cli import main
from compat.exitcodes import EXIT_ERROR, EXIT_OK, EXIT_USAGE
from compat.sessions import SessionBook
from compat.store import SQLiteStore
from compat.store.schema import latest_version

FIXTURE = Path(__file__).parents[1] / "fixtures" / "store_v0"
EXPECTED: dict[str, Any] = json.loads((FIXTURE / "expected.json").read_text())
TOKEN = "copy-test-token-6a02d9"
PASSWORD = "copy-pg-password-93be"
OPTIONS = {
    "punctuation": True,
    "keep_source": True,
    "multichannel": True,
    "webhook_url": "https://hooks.example.com/done",
    "webhook_method": "PUT",
    "webhook_headers": ["X-Secret: abc"],
    "document": {"document_type": "document", "max_line_length": 42},
}


def migrate(source: str | Path, target: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the command; its exit code, stdout and stderr."""
    code = main(["store", "migrate", "--from", str(source), "--to", target])
    out, err = capsys.readouterr()
    return code, out, err


def with_password(url: str) -> str:
    scheme, rest = url.split("://", 1)
    user, host = rest.split("@", 1)
    return f"{scheme}://{user}:{PASSWORD}@{host}"


@pytest.fixture
def old_store(tmp_path: Path) -> Path:
    path = tmp_path / "old.sqlite3"
    shutil.copy(FIXTURE / "state.sqlite3", path)
    return path


@pytest.fixture
def target(postgres_url: str) -> Iterator[Backend]:
    backend = Backend("postgresql", postgres_url)
    yield backend
    backend.close_all()


def fixture_key(path: Path) -> str:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return str(db.execute("SELECT value FROM meta WHERE name = 'hmac_key'").fetchone()[0])


def check_holds_the_fixture(store: Any) -> None:
    book = SessionBook(store)
    for token, session_ids in EXPECTED["tokens"].items():
        for session_id in session_ids:
            record = book.open(token, session_id)
            assert record, f"{session_id} does not open with its token in the copy"
            wanted = EXPECTED["sessions"][session_id]
            assert record.options == wanted["options"]  # unsealed with the token: the key came along
            assert (record.state, record.filename, record.media_type) == (
                wanted["state"],
                wanted["filename"],
                wanted["media_type"],
            )
    assert [entry[:2] for entry in store.pending_uploads()] == list(EXPECTED["uploads"].items())


# the copy --------------------------------------------------------------------------------------


def test_a_store_made_before_versioning_is_migrated_then_copied_into_postgresql(
    old_store: Path, target: Backend, capsys: pytest.CaptureFixture[str]
) -> None:
    key = fixture_key(old_store)
    code, out, err = migrate(old_store, with_password(target.value), capsys)
    assert code == EXIT_OK, err
    assert f"copied the state store {old_store} into postgresql://postgres:<redacted>@" in out
    assert f"schema version {latest_version()}, migrated from schema version 1 first" in out
    assert "  sessions: 3 row(s)" in out and "  uploads: 1 row(s)" in out and "  transcribe_jobs: 0 row(s)" in out
    assert PASSWORD not in out + err
    assert target.rows("SELECT value FROM meta WHERE name = 'hmac_key'") == [{"value": key}]
    copied = target.open()
    assert copied.schema_version == latest_version()
    check_holds_the_fixture(copied)


def test_a_store_of_this_version_is_copied_and_a_client_on_postgresql_reads_and_resumes_it(
    httpserver: HTTPServer, tmp_path: Path, target: Backend, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeV3(httpserver, token=TOKEN)
    path = tmp_path / "state.sqlite3"
    media = tmp_path / "talk.wav"
    data = b"RIFF" + bytes(range(256)) * 800
    media.write_bytes(data)
    settings: dict[str, Any] = {"chunk_size": 64 * 1024, "backoff_base": 0.001}
    one_host = LegacyClient(api_key=TOKEN, base_url=fake.base_url, store=path, **settings)
    session_id = one_host.create_session("en", **OPTIONS)["result"]["session_id"]

    def interrupt(done: int, total: int) -> None:
        if done > 64 * 1024:  # during the second PATCH: the first is up
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):  # the host stops mid-upload: the resume URL is in its store
        one_host.upload(session_id, media, on_progress=interrupt)
    sent = len(fake.only_upload().data)
    assert 0 < sent < len(data)
    one_host.v3.store.close()

    code, _, err = migrate(path, target.value, capsys)
    assert code == EXIT_OK, err
    fleet = LegacyClient(api_key=TOKEN, base_url=fake.base_url, store=target.value, **settings)
    target.opened.append(fleet.v3.store)
    assert fleet.get_result(session_id)["result"]["session_id"] == session_id  # the copy knows the session
    answer = fleet.upload(session_id, media)
    assert answer["result"]["status"] == "uploaded"
    upload = fake.only_upload()  # resumed: still one TUS upload, every byte once
    assert fake.count("POST", "tus-create") == 1 and bytes(upload.data) == data
    metadata = upload.metadata  # the options sealed on the SQLite host, opened on PostgreSQL
    assert (metadata["punctuation"], metadata["keep_source"], metadata["multichannel"]) == ("true", "true", "true")
    assert json.loads(metadata["document"]) == {
        "document_type": "document",
        "max_line_length": 42,
        "webhook_url": "https://hooks.example.com/done",
        "webhook_method": "PUT",
        "webhook_headers": ["X-Secret: abc"],
    }


def test_sqlite_into_sqlite_copies_too(old_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "copy.sqlite3"
    code, out, err = migrate(old_store, str(copy), capsys)
    assert code == EXIT_OK, err
    assert "  sessions: 3 row(s)" in out
    assert fixture_key(copy) == fixture_key(old_store)
    with contextlib.closing(SQLiteStore(copy)) as store:
        check_holds_the_fixture(store)


# refusals and failures change nothing ------------------------------------------------------------


def test_a_target_with_rows_is_refused_and_left_as_it_was(
    old_store: Path, target: Backend, capsys: pytest.CaptureFixture[str]
) -> None:
    in_use = target.open()
    SessionBook(in_use).remember(TOKEN, "fleet-session", {"language": "en"})
    in_use.close()
    before = (target.rows("SELECT * FROM meta ORDER BY name"), target.rows("SELECT session_id FROM sessions"))
    code, out, err = migrate(old_store, target.value, capsys)
    assert code == EXIT_USAGE
    assert "is not empty (rows in sessions)" in err and "never merged or overwritten" in err
    assert out == ""
    assert (target.rows("SELECT * FROM meta ORDER BY name"), target.rows("SELECT session_id FROM sessions")) == before


def test_a_target_other_processes_are_connected_to_is_refused(
    old_store: Path, target: Backend, capsys: pytest.CaptureFixture[str]
) -> None:
    replica = target.open()  # a gateway started before the copy: it has read the target's key
    replica.get_item("anything")
    code, _, err = migrate(old_store, target.value, capsys)
    assert code == EXIT_USAGE
    assert "other scriptix-compat connection(s) use the target store" in err
    assert target.rows("SELECT session_id FROM sessions") == []
    replica.close()
    code, _, err = migrate(old_store, target.value, capsys)
    assert code == EXIT_OK, err


def test_a_copy_that_fails_midway_leaves_the_target_as_it_was_and_can_be_run_again(
    old_store: Path, target: Backend, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from compat.store.postgresql import PostgreSQLStore

    target.open().close()  # a migrated, empty target: its own key
    own_meta = target.rows("SELECT * FROM meta ORDER BY name")
    real_write = PostgreSQLStore.write
    writes: list[str] = []

    def failing(self: PostgreSQLStore, sql: str, params: tuple[Any, ...] = ()) -> int:
        if sql.startswith("INSERT INTO sessions"):
            writes.append(sql)
            if len(writes) == 2:
                raise StoreError("the state store is gone", reason="its database cannot be reached")
        return real_write(self, sql, params)

    monkeypatch.setattr(PostgreSQLStore, "write", failing)
    code, out, err = migrate(old_store, target.value, capsys)
    assert code == EXIT_ERROR and "the state store is gone" in err and out == ""
    assert target.rows("SELECT * FROM meta ORDER BY name") == own_meta  # not even the key was replaced
    for table in ("sessions", "uploads", "transcribe_jobs"):
        assert target.rows(f"SELECT * FROM {table}") == []
    monkeypatch.undo()
    code, _, err = migrate(old_store, target.value, capsys)
    assert code == EXIT_OK, err
    check_holds_the_fixture(target.open())


def test_a_missing_source_is_refused_and_not_created(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nothing-here.sqlite3"
    code, _, err = migrate(missing, f"postgresql://scriptix:{PASSWORD}@127.0.0.1:1/state", capsys)
    assert code == EXIT_USAGE
    assert "does not exist" in err and not missing.exists()
    assert PASSWORD not in err


@pytest.mark.parametrize(
    ("source", "to", "problem"),
    [
        ("same.sqlite3", "same.sqlite3", "the same store"),
        (":memory:", "x.sqlite3", "cannot be ':memory:'"),
        ("old", ":memory:", "cannot be ':memory:'"),
    ],
)
def test_memory_or_the_same_store_is_refused(
    old_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str, to: str, problem: str
) -> None:
    source = str(old_store) if source == "old" else str(tmp_path / source) if source != ":memory:" else source
    to = to if to == ":memory:" else str(tmp_path / to)
    code, _, err = migrate(source, to, capsys)
    assert code == EXIT_USAGE and problem in err


def test_the_command_is_listed_with_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["store", "migrate", "--help"])
    text = capsys.readouterr().out
    assert "--from PATH" in text and "--to URL" in text and "refused" in text
