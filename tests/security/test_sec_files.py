"""The store is private to its owner: the database and SQLite's ``-wal`` and ``-shm`` beside it are
0600, and the directory made for it 0700, even under a umask that would let everyone read them.

tests/unit/test_store.py checks the database file of a bare store; here the files exist as a real
flow leaves them (WAL and shared memory included) through ``LegacyClient`` and the gateway.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from fake_v3 import FakeV3
from sec_helpers import SESSIONS, TOKEN

from compat import LegacyClient
from compat.gateway import GatewayServer


@pytest.fixture
def open_umask() -> Iterator[None]:
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def assert_private(store: Path) -> None:
    files = sorted(p for p in store.parent.iterdir() if p.name.startswith(store.name))
    assert {p.name for p in files} >= {store.name, f"{store.name}-wal", f"{store.name}-shm"}, files
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, f"{path.name} is {oct(path.stat().st_mode)}"
    assert stat.S_IMODE(store.parent.stat().st_mode) == 0o700


def test_legacy_client_store_files_are_private(fake: FakeV3, tmp_path: Path, open_umask: None) -> None:
    store = tmp_path / "state-dir" / "state.sqlite3"
    client = LegacyClient(api_key=TOKEN, base_url=fake.base_url, store=str(store))
    session_id = client.create_session("en")["result"]["session_id"]
    client.upload(session_id, _media(tmp_path))
    assert_private(store)


def test_gateway_store_files_are_private(fake: FakeV3, tmp_path: Path, open_umask: None) -> None:
    store = tmp_path / "gateway-dir" / "state.sqlite3"
    with GatewayServer(fake.base_url, store=store) as gateway:
        created = requests.post(gateway.url + SESSIONS, json={"language": "en"}, headers={"x-zoom-s2t-key": TOKEN})
        assert created.status_code == 200
        assert_private(store)


def _media(tmp_path: Path) -> Path:
    path = tmp_path / "talk.wav"
    path.write_bytes(b"RIFF" + os.urandom(100 * 1024))
    return path
