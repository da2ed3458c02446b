"""A full disk under the shim's store, through LegacyClient and through the gateway.

MIGRATION.md: "The local store is unusable (disk full, read-only): ``StoreError``, status 503; an
upload that cannot be recorded is terminated before any byte is sent." So a call that cannot be
recorded answers 503 with a V1 error (the caller may retry), and leaves nothing upstream that the
caller cannot see or reach: no session it was never told about, no upload, no byte. Once there is
space again, the same call works and makes exactly one session and one upload.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from rel_helpers import TOKEN, assert_one_complete_upload, bounded, fill_store, free_store, legacy

from compat import ScriptixError, SQLiteStore
from compat.emulator import Emulator
from compat.gateway import GatewayServer

SESSIONS = "/api/v3/speech-to-text/session"
AUTH = {"x-zoom-s2t-key": TOKEN}
FULL = {"everything": ("sessions", "uploads"), "upload-records": ("uploads",)}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    opened = SQLiteStore(tmp_path / "state.sqlite3")
    yield opened
    opened.close()


def live_sessions(emu: Emulator) -> list[str]:
    return [sid for sid, session in emu.sessions.items() if not session.deleted]


def tus_requests(emu: Emulator) -> list[str]:
    return [r.method for r in emu.requests if r.path.startswith("/api/v3/files")]


def test_legacy_create_on_a_full_store_is_a_503_and_leaves_no_session_upstream(
    emu: Emulator, store: SQLiteStore
) -> None:
    client = legacy(emu.url, store)
    fill_store(store, "sessions")
    _, error, _ = bounded(10, lambda: client.create_session("en"))
    assert isinstance(error, ScriptixError), repr(error)
    assert error.status_code == 503 and "full" in error.body["error"]
    assert live_sessions(emu) == [], "a session the caller was never told about was left upstream"
    free_store(store)
    session_id = client.create_session("en")["result"]["session_id"]
    assert live_sessions(emu) == [session_id]


@pytest.mark.parametrize("full", list(FULL), ids=list(FULL))
def test_legacy_upload_on_a_full_store_is_a_503_and_leaves_no_upload_upstream(
    emu: Emulator, store: SQLiteStore, source: tuple[Path, bytes], full: str
) -> None:
    path, data = source
    client = legacy(emu.url, store)
    session_id = client.create_session("en")["result"]["session_id"]
    fill_store(store, *FULL[full])
    _, error, _ = bounded(10, lambda: client.upload(session_id, path))
    assert isinstance(error, ScriptixError), repr(error)
    assert error.status_code == 503, f"{type(error).__name__} with status {error.status_code}: {error}"
    assert "full" in error.body["error"]
    assert emu.uploads == {} and "PATCH" not in tus_requests(emu)
    free_store(store)
    assert client.upload(session_id, path)["result"]["status"] == "uploaded"
    assert_one_complete_upload(emu, session_id, data)
    assert live_sessions(emu) == [session_id]


def test_gateway_on_a_full_store_answers_503_v1_json_and_leaves_nothing_upstream(
    emu: Emulator, store: SQLiteStore, source: tuple[Path, bytes]
) -> None:
    path, data = source
    with GatewayServer(emu.url, store=store, chunk_size=64 * 1024, backoff_base=0.001) as gateway:
        created = requests.post(gateway.url + SESSIONS, json={"language": "en"}, headers=AUTH, timeout=30)
        session_id = created.json()["result"]["session_id"]
        put = {"headers": {**AUTH, "Content-Type": "audio/wav", "x-filename": "talk.wav"}, "timeout": 30}

        fill_store(store, "uploads")
        upload = requests.put(f"{gateway.url}{SESSIONS}/{session_id}", data=path.read_bytes(), **put)
        fill_store(store, "sessions", "uploads")
        create = requests.post(gateway.url + SESSIONS, json={"language": "en"}, headers=AUTH, timeout=30)
        for answer in (upload, create):
            assert answer.status_code == 503, f"{answer.request.method}: {answer.status_code} {answer.text}"
            assert answer.headers["Content-Type"] == "application/json"
            assert "full" in answer.json()["error"]
            assert store.path not in answer.text, "the store's path is the operator's business, not the caller's"
        assert emu.uploads == {} and "PATCH" not in tus_requests(emu)
        assert live_sessions(emu) == [session_id], "a session no caller was told about was left upstream"

        free_store(store)
        again = requests.put(f"{gateway.url}{SESSIONS}/{session_id}", data=path.read_bytes(), **put)
        assert again.status_code == 200, again.text
    assert_one_complete_upload(emu, session_id, data)
