"""A client closes the store it opened itself, never one passed in.

``LegacyClient`` and ``V3Client`` open a store from a path or URL (``store="state.sqlite3"``,
``store="postgresql://…"``) when they are given no open store; ``close()`` and the end of a ``with``
block close it: the SQLite file handles, the PostgreSQL connections. A store passed in as
``store=<Store>`` belongs to the caller and stays open. A transfer still running when a
``LegacyClient`` is closed keeps the store until it has ended.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fake_v3 import FakeV3
from fleet_processes import serve_held_media
from pytest_httpserver import HTTPServer
from store_backends import Backend, backend_at

from compat import LegacyClient, V3Client
from compat.store import open_store
from compat.transfers import Transfers

TOKEN = "store-owner-token"
PROC_FDS = Path("/proc/self/fd")
needs_proc = pytest.mark.skipif(not PROC_FDS.is_dir(), reason="counts open files through /proc/self/fd")


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeV3:
    return FakeV3(httpserver, token=TOKEN)


def open_handles(path: Path) -> int:
    """How many file descriptors of this process point at the database file (or its -wal/-shm)."""
    count = 0
    for fd in PROC_FDS.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        count += target.startswith(str(path))
    return count


def server_connections(backend: Backend) -> int:
    """Connections to the test's database other than the one asking."""
    rows = backend.rows(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    return int(rows[0]["n"])


def legacy_client(fake: FakeV3, store: Any, **options: Any) -> LegacyClient:
    return LegacyClient(api_key=TOKEN, base_url=fake.base_url, store=store, backoff_base=0.001, **options)


def v3_client(fake: FakeV3, store: Any) -> V3Client:
    return V3Client(api_key=TOKEN, base_url=fake.base_url, store=store)


CLIENTS: dict[str, Callable[[FakeV3, Any], LegacyClient | V3Client]] = {
    "LegacyClient": legacy_client,
    "V3Client": v3_client,
}


@needs_proc
@pytest.mark.parametrize("make", list(CLIENTS))
@pytest.mark.parametrize("how", ["close", "with"])
def test_a_store_the_client_opened_from_a_path_is_closed(fake: FakeV3, tmp_path: Path, make: str, how: str) -> None:
    path = tmp_path / "state.sqlite3"
    client = CLIENTS[make](fake, str(path))
    assert open_handles(path) > 0
    if how == "with":
        with client:
            pass
    else:
        client.close()
    assert open_handles(path) == 0
    with pytest.raises(Exception, match="closed"):
        (client.v3 if isinstance(client, LegacyClient) else client).store.execute("SELECT 1")


@needs_proc
@pytest.mark.parametrize("make", list(CLIENTS))
def test_a_store_passed_in_stays_open(fake: FakeV3, tmp_path: Path, make: str) -> None:
    path = tmp_path / "state.sqlite3"
    store = open_store(str(path))
    try:
        with CLIENTS[make](fake, store):
            pass
        assert open_handles(path) > 0
        assert store.execute("SELECT 1") == [(1,)]
    finally:
        store.close()
    assert open_handles(path) == 0


def test_closing_a_token_view_leaves_the_store_open(fake: FakeV3, tmp_path: Path) -> None:
    with v3_client(fake, str(tmp_path / "state.sqlite3")) as client:
        client.with_token("another-token").close()
        assert client.store.execute("SELECT 1") == [(1,)]


@pytest.mark.parametrize("make", list(CLIENTS))
def test_a_postgresql_store_the_client_opened_is_closed(fake: FakeV3, tmp_path: Path, make: str) -> None:
    with backend_at("postgresql", tmp_path) as backend:
        client = CLIENTS[make](fake, backend.value)
        store = client.v3.store if isinstance(client, LegacyClient) else client.store
        assert store.execute("SELECT 1") == [(1,)]  # the pool holds a connection now
        assert server_connections(backend) > 0
        client.close()
        assert server_connections(backend) == 0


@needs_proc
def test_a_transfer_still_running_keeps_the_store_until_it_ends(
    fake: FakeV3, media_server: HTTPServer, tmp_path: Path
) -> None:
    release, data = serve_held_media(media_server, "/slow.mp3", hold=10)
    path = tmp_path / "state.sqlite3"
    client = legacy_client(fake, str(path), allow_private_media=True, media_source_mode="background")
    client.create_session("en", media_source=media_server.url_for("/slow.mp3"))
    client.close()
    assert open_handles(path) > 0  # the job still needs it
    release.set()
    assert client.translator.wait_for_transfers(10)
    assert bytes(fake.only_upload().data) == data  # the job ran to its end with the store
    deadline = time.monotonic() + 10
    while open_handles(path) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert open_handles(path) == 0


def test_after_runs_now_when_idle_and_after_the_last_transfer_otherwise() -> None:
    transfers = Transfers()
    called: list[str] = []
    transfers.after(lambda: called.append("idle"))
    assert called == ["idle"]
    done = threading.Event()
    with transfers.track("s1", "put"):
        transfers.after(lambda: (called.append("after"), done.set()))
        assert not done.wait(0.05)
        assert called == ["idle"]
    assert done.wait(10)
    assert called == ["idle", "after"]
