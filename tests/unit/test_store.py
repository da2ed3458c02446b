"""The stores: SQLiteStore's private file and WAL; on every backend (SQLite, PostgreSQL) the tuspy
Storage interface, the keyed token digest, and sharing between objects and processes."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from store_backends import Backend

from compat import ConfigurationError, SQLiteStore
from compat.store import StoredClaim, open_store

TOKEN = "store-secret-token-5d81e0"
OTHER = "store-other-token-77aa31"
URL = "http://127.0.0.1:1/api/v3/files/abc123"


@pytest.fixture
def stores() -> Iterator[list[SQLiteStore]]:
    opened: list[SQLiteStore] = []
    yield opened
    for store in opened:
        store.close()


def open_(stores: list[SQLiteStore], path: str | os.PathLike[str]) -> SQLiteStore:
    store = SQLiteStore(path)
    stores.append(store)
    return store


def file_bytes(path: Path) -> bytes:
    data = b""
    for suffix in ("", "-wal", "-shm", "-journal"):
        candidate = Path(f"{path}{suffix}")
        if candidate.exists():
            data += candidate.read_bytes()
    return data


def test_file_is_created_private(tmp_path: Path, stores: list[SQLiteStore]) -> None:
    path = tmp_path / "state" / "deeper" / "state.sqlite3"
    store = open_(stores, path)
    store.set_item("k", URL)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    wal = Path(f"{path}-wal")
    assert wal.exists()
    assert stat.S_IMODE(wal.stat().st_mode) & 0o077 == 0  # the journal is private too
    assert stat.S_IMODE(path.parent.stat().st_mode) & 0o077 == 0  # created directories are private


def test_file_is_private_even_with_a_permissive_umask(tmp_path: Path, stores: list[SQLiteStore]) -> None:
    old = os.umask(0)
    try:
        path = tmp_path / "state.sqlite3"
        open_(stores, path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_wal_journal_mode(tmp_path: Path, stores: list[SQLiteStore]) -> None:
    path = tmp_path / "state.sqlite3"
    store = open_(stores, path)
    assert store.execute("PRAGMA journal_mode") == [("wal",)]
    # WAL is persistent: a plain connection sees it too
    with sqlite3.connect(path) as plain:
        assert plain.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    plain.close()


def check_get_set_remove(store: Any) -> None:
    assert store.get_item("missing") is None
    store.set_item("key-1", URL)
    assert store.get_item("key-1") == URL
    store.set_item("key-1", URL + "-v2")  # replaced, not duplicated
    assert store.get_item("key-1") == URL + "-v2"
    store.set_item("key-2", URL)
    assert [entry[:2] for entry in store.pending_uploads()] == [("key-1", URL + "-v2"), ("key-2", URL)]
    store.remove_item("key-1")
    assert store.get_item("key-1") is None
    assert store.get_item("key-2") == URL
    store.remove_item("key-1")  # removing twice is fine
    store.remove_url(URL)
    assert store.get_item("key-2") is None
    assert store.pending_uploads() == []


def test_get_set_remove_in_memory(stores: list[SQLiteStore]) -> None:
    check_get_set_remove(open_(stores, ":memory:"))


def test_get_set_remove(store_backend: Backend) -> None:
    check_get_set_remove(store_backend.open())


def test_open_store_accepts_instance_or_path(tmp_path: Path, stores: list[SQLiteStore]) -> None:
    store = open_(stores, ":memory:")
    assert open_store(store) is store
    other = open_store(tmp_path / "x.sqlite3")
    stores.append(other)
    assert isinstance(other, SQLiteStore)
    assert other.path == str(tmp_path / "x.sqlite3")


def test_two_objects_on_one_store_share_state(store_backend: Backend) -> None:
    first = store_backend.open()
    second = store_backend.open()
    first.set_item("a", URL)
    assert second.get_item("a") == URL
    second.set_item("b", URL + "/b")
    assert first.get_item("b") == URL + "/b"
    first.remove_item("b")
    assert second.get_item("b") is None


def test_memory_stores_are_separate(stores: list[SQLiteStore]) -> None:
    first = open_(stores, ":memory:")
    second = open_(stores, ":memory:")
    first.set_item("a", URL)
    assert second.get_item("a") is None


def run_python(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_another_process_writes_and_this_one_reads(store_backend: Backend) -> None:
    store = store_backend.open()  # open first: the child writes while this connection is live
    assert store.get_item("child") is None
    run_python(
        "from compat.store import open_store\n"
        f"s = open_store({store_backend.value!r})\n"
        f"s.set_item('child', {URL!r})\n"
        "s.close()\n"
    )
    assert store.get_item("child") == URL


def test_this_process_writes_and_another_reads(store_backend: Backend) -> None:
    store = store_backend.open()
    store.set_item("parent", URL)
    digest = store.token_digest(TOKEN)
    out = run_python(
        "from compat.store import open_store\n"
        f"s = open_store({store_backend.value!r})\n"
        "print(s.get_item('parent'))\n"
        f"print(s.token_digest({TOKEN!r}))\n"
        "s.close()\n"
    )
    assert out.splitlines() == [URL, digest]  # the HMAC key is shared through the store


def test_token_digest_is_stable_per_store(store_backend: Backend) -> None:
    store = store_backend.open()
    digest = store.token_digest(TOKEN)
    assert digest == store.token_digest(TOKEN)
    assert len(digest) == 64
    int(digest, 16)
    assert TOKEN not in digest
    store.close()
    assert store_backend.open().token_digest(TOKEN) == digest  # survives reopening


def test_token_digest_differs_between_stores_and_tokens(tmp_path: Path, stores: list[SQLiteStore]) -> None:
    first = open_(stores, tmp_path / "a.sqlite3")
    second = open_(stores, tmp_path / "b.sqlite3")
    memory_one = open_(stores, ":memory:")
    memory_two = open_(stores, ":memory:")
    digests = {
        first.token_digest(TOKEN),
        second.token_digest(TOKEN),
        memory_one.token_digest(TOKEN),
        memory_two.token_digest(TOKEN),
        first.token_digest(OTHER),
        first.token_digest(None),
    }
    assert len(digests) == 6


def test_token_never_reaches_the_file(tmp_path: Path, stores: list[SQLiteStore]) -> None:
    path = tmp_path / "state.sqlite3"
    store = open_(stores, path)
    digest = store.token_digest(TOKEN)
    store.set_item(f"{digest}:fingerprint", URL)
    store.token_digest(OTHER)
    data = file_bytes(path)
    assert digest.encode() in data  # we are reading the bytes the state went to
    assert TOKEN.encode() not in data
    assert OTHER.encode() not in data
    store.close()
    stores.remove(store)
    data = file_bytes(path)  # after a checkpoint as well
    assert digest.encode() in data
    assert TOKEN.encode() not in data


def test_token_never_reaches_the_database(store_backend: Backend) -> None:
    store = store_backend.open()
    digest = store.token_digest(TOKEN)
    store.set_item(f"{digest}:fingerprint", URL)
    store.put_session("s1", digest, b"sealed", "new", replace=True)
    store.token_digest(OTHER)
    everything = repr([store_backend.rows(f"SELECT * FROM {table}") for table in sorted(store_backend.tables())])
    assert digest in everything  # we are reading the rows the state went to
    assert TOKEN not in everything and OTHER not in everything


def test_directory_is_an_unusable_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        SQLiteStore(tmp_path)
    assert caught.value.option == "store"
    assert "'store'" in str(caught.value)
    assert str(tmp_path) in str(caught.value)


def test_path_under_a_file_is_unusable(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigurationError) as caught:
        SQLiteStore(blocker / "state.sqlite3")
    assert caught.value.option == "store"
    assert "'store'" in str(caught.value)


def test_file_that_is_not_a_database_is_unusable(tmp_path: Path) -> None:
    path = tmp_path / "garbage.sqlite3"
    path.write_bytes(b"this is certainly not an SQLite database file\n" * 50)
    with pytest.raises(ConfigurationError) as caught:
        SQLiteStore(path)
    assert caught.value.option == "store"


def test_repr_names_path(tmp_path: Path, stores: list[SQLiteStore]) -> None:
    store = open_(stores, tmp_path / "r.sqlite3")
    assert repr(store) == f"SQLiteStore({str(tmp_path / 'r.sqlite3')!r})"


# upload receipts and claims taken over from a dead holder ------------------------------------------


def test_a_receipt_replaces_those_at_or_past_its_offset_and_the_session_takes_them_along(
    store_backend: Backend,
) -> None:
    from compat.store import StoredReceipt

    store = store_backend.open()
    store.put_session("s-1", "owner", b"sealed", "new", replace=True)
    for offset in (0, 10, 20):
        store.add_receipt("s-1", StoredReceipt("u1", offset, 10, f"d{offset}"))
    store.add_receipt("s-2", StoredReceipt("u2", 0, 5, "other"))
    big = StoredReceipt("u4", 3 * 2**31, 2**31, "beyond 32 bits", 6 * 2**31)  # byte positions past 4 GiB
    store.add_receipt("s-3", big)
    assert store.receipts_of("s-3") == [big]
    assert [r.offset for r in store.receipts_of("s-1")] == [0, 10, 20]
    store.add_receipt("s-1", StoredReceipt("u1", 10, 7, "again"))  # the server lost bytes from 10
    assert store.receipts_of("s-1") == [StoredReceipt("u1", 0, 10, "d0"), StoredReceipt("u1", 10, 7, "again")]
    store.add_receipt("s-1", StoredReceipt("u3", 0, 4, "new"))  # a new upload from 0
    assert store.receipts_of("s-1") == [StoredReceipt("u3", 0, 4, "new")]
    store.delete_session("s-1")
    assert store.receipts_of("s-1") == [] and store.receipts_of("s-2") == [StoredReceipt("u2", 0, 5, "other")]
    store.clear_receipts("s-2")
    assert store.receipts_of("s-2") == []


def test_a_claim_is_taken_over_from_a_named_dead_holder_only(store_backend: Backend) -> None:
    store = store_backend.open()
    store.put_session("s-1", "owner", b"sealed", "new", replace=True)
    assert store.get_claim("s-1") == StoredClaim("new", None, None)
    assert store.claim_session("s-1", "owner", "h1", 30.0, takeover_only=False, filename=None, media_type=None)
    claim = store.get_claim("s-1")
    assert claim is not None and claim.state == "uploading" and claim.holder == "h1" and claim.until is not None
    kwargs: dict[str, Any] = {"filename": None, "media_type": None}
    assert store.take_over_claim("s-1", "owner", "h0", "h2", 30.0, **kwargs) is None  # not the holder
    assert store.take_over_claim("s-1", "other", "h1", "h2", 30.0, **kwargs) is None  # not the owner
    assert store.take_over_claim("s-1", "owner", "h1", "h2", 30.0, **kwargs) == "new"
    assert store.take_over_claim("s-1", "owner", "h1", "h3", 30.0, **kwargs) is None  # one winner
    assert store.get_claim("s-1").holder == "h2"  # type: ignore[union-attr]
    assert store.get_claim("unknown") is None
