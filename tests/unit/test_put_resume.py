"""A V1 PUT keyed by its session: forward-only bodies, receipts in the store, retries checked against them.

The translator is driven directly with a body that cannot seek (as the gateway hands it over) and
its ``Content-Length``; upstream is the scripted fake. "The process died" is played by a body that
ends early (the client went away) or by a PATCH the fake refuses: either way the claim is released,
the upload and its receipts stay in the store, and the next PUT of the session resumes it.
"""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fake_v3 import FakeV3
from pytest_httpserver import HTTPServer

import compat
from compat import BadRequestError, LegacyClient, ScriptixError
from compat.translate import media_resume_key
from compat.v3.receipts import digest_of

TOKEN = "put-resume-token-6a1f0c"
KiB = 1024
CHUNK = 64 * KiB
ALREADY = {"error": "Invalid data: media was already uploaded for this session"}


class Body(io.RawIOBase):
    """A request body: cannot seek, at most ``block`` bytes a read; ends early at ``end_at`` (a client
    that went away); ``hold`` is called before each read with the position (to pace or watch it)."""

    def __init__(self, data: bytes, *, block: int = 8 * KiB, end_at: int | None = None, hold: Any = None) -> None:
        self._data = data if end_at is None else data[:end_at]
        self._block = block
        self._hold = hold
        self.position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._hold is not None:
            self._hold(self.position)
        count = min(len(buffer), self._block, len(self._data) - self.position)
        buffer[:count] = self._data[self.position : self.position + count]
        self.position += count
        return count


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeV3:
    return FakeV3(httpserver, token=TOKEN)


@pytest.fixture
def deferring(httpserver: HTTPServer) -> FakeV3:
    return FakeV3(httpserver, token=TOKEN, defer_length=True)


def legacy(fake: FakeV3, store: Path | str = ":memory:", **options: Any) -> LegacyClient:
    settings: dict[str, Any] = {"chunk_size": CHUNK, "backoff_base": 0.001, "max_retries": 2}
    settings.update(options)
    return LegacyClient(api_key=TOKEN, base_url=fake.base_url, store=str(store), **settings)


def put(client: LegacyClient, session_id: str, body: Any, length: int | None) -> dict[str, Any]:
    return client.translator.upload(
        TOKEN, session_id, body, content_type="audio/wav", filename="talk.wav", content_length=length
    )


def patched(fake: FakeV3) -> int:
    return sum(size for method, route, size in fake.requests if method == "PATCH" and route == "tus-upload")


def receipts_in(store: Path, session_id: str) -> list[tuple[int, int, str]]:
    with sqlite3.connect(store) as db:
        rows = db.execute(
            "SELECT byte_offset, length, digest FROM upload_receipts WHERE session_id = ? ORDER BY byte_offset",
            (session_id,),
        ).fetchall()
    return [(int(o), int(n), str(d)) for o, n, d in rows]


def interrupted_put(fake: FakeV3, store: Path, data: bytes, cut: int) -> tuple[LegacyClient, str]:
    """A PUT whose client went away after ``cut`` bytes: the session, with an upload started."""
    client = legacy(fake, store)
    session_id = client.create_session("en")["result"]["session_id"]
    with pytest.raises(ScriptixError):
        put(client, session_id, Body(data, end_at=cut), len(data))
    return client, session_id


def test_a_put_of_known_length_goes_up_as_it_arrives_keeping_one_chunk(
    fake: FakeV3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = tmp_path / "tmp"
    spool.mkdir()
    monkeypatch.setenv("TMPDIR", str(spool))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    data = os.urandom(16 * CHUNK + 5)
    late: list[int] = []

    def hold(position: int) -> None:
        # Past half the body, the upstream must have had its first PATCH already (as a slow client sends).
        if position >= len(data) // 2 and fake.count("PATCH", "tus-upload") == 0:
            deadline = time.monotonic() + 5
            while fake.count("PATCH", "tus-upload") == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            if fake.count("PATCH", "tus-upload") == 0:
                late.append(position)

    client = legacy(fake, tmp_path / "state.sqlite3")
    session_id = client.create_session("en")["result"]["session_id"]
    answer = put(client, session_id, Body(data, hold=hold), len(data))
    assert answer["result"]["status"] == "uploaded"
    assert late == [], "no PATCH had reached the upstream when half the body had been read"
    assert fake.only_upload().length == len(data)  # created with its length: no deferral, no spool
    assert bytes(fake.only_upload().data) == data
    assert list(spool.iterdir()) == []
    assert [offset for offset, _, _ in receipts_in(tmp_path / "state.sqlite3", session_id)] == [
        i * CHUNK for i in range(17)
    ]


def test_a_retried_put_resumes_the_sessions_upload_and_sends_only_the_rest(fake: FakeV3, tmp_path: Path) -> None:
    store = tmp_path / "state.sqlite3"
    data = os.urandom(10 * CHUNK + 123)
    _, session_id = interrupted_put(fake, store, data, cut=4 * CHUNK + 500)
    held = len(fake.only_upload().data)
    assert held == 4 * CHUNK  # the chunk cut off never completed
    sent_before = patched(fake)
    answer = put(legacy(fake, store), session_id, Body(data), len(data))  # another process
    assert answer["result"]["status"] == "uploaded"
    assert fake.count("POST", "tus-create") == 1
    assert bytes(fake.only_upload().data) == data
    assert patched(fake) - sent_before == len(data) - held
    assert sum(n for _, n, _ in receipts_in(store, session_id)) == len(data)


def test_bytes_the_server_holds_without_a_receipt_are_trusted_when_every_receipt_matched(
    fake: FakeV3, tmp_path: Path
) -> None:
    store = tmp_path / "state.sqlite3"
    data = os.urandom(8 * CHUNK + 9)
    client = legacy(fake, store)
    session_id = client.create_session("en")["result"]["session_id"]
    fake.fail("PATCH", "tus-upload", "pass", "pass", "drop")  # the third PATCH is cut: part of it lands
    fake.fail("HEAD", "tus-head", 503, 503, 503, 503)  # and the process gives up (as if it died there)
    with pytest.raises(ScriptixError):
        put(client, session_id, Body(data), len(data))
    held = len(fake.only_upload().data)
    assert 2 * CHUNK < held < 3 * CHUNK, "the cut PATCH should have left part of its chunk on the server"
    assert receipts_in(store, session_id)[-1][:2] == (CHUNK, CHUNK)
    sent_before = patched(fake)
    assert put(legacy(fake, store), session_id, Body(data), len(data))["result"]["status"] == "uploaded"
    assert fake.count("POST", "tus-create") == 1 and bytes(fake.only_upload().data) == data
    assert patched(fake) - sent_before == len(data) - held  # at most the file once, in all: nothing resent
    offsets = [(o, n) for o, n, _ in receipts_in(store, session_id)]
    assert (2 * CHUNK, held - 2 * CHUNK) in offsets  # the bytes checked on the retry now have their receipt


def test_a_retried_put_with_another_body_terminates_the_old_upload_and_starts_a_new_one(
    fake: FakeV3, tmp_path: Path
) -> None:
    store = tmp_path / "state.sqlite3"
    data = os.urandom(10 * CHUNK)
    _, session_id = interrupted_put(fake, store, data, cut=5 * CHUNK + 10)
    [old] = fake.uploads.values()
    other = bytearray(data)
    other[CHUNK + 7] ^= 0xFF  # differs inside bytes a receipt covers
    assert put(legacy(fake, store), session_id, Body(bytes(other)), len(other))["result"]["status"] == "uploaded"
    assert old.id not in fake.uploads and fake.count("DELETE", "tus-delete") == 1
    assert fake.count("POST", "tus-create") == 2
    assert bytes(fake.only_upload().data) == bytes(other)
    assert [o for o, _, _ in receipts_in(store, session_id)] == [i * CHUNK for i in range(10)]
    assert receipts_in(store, session_id)[1][2] == digest_of(bytes(other[CHUNK : 2 * CHUNK]))


def test_a_retried_put_of_another_length_terminates_the_old_upload(fake: FakeV3, tmp_path: Path) -> None:
    store = tmp_path / "state.sqlite3"
    data = os.urandom(6 * CHUNK)
    _, session_id = interrupted_put(fake, store, data, cut=3 * CHUNK + 10)
    [old] = fake.uploads.values()
    longer = data + os.urandom(100)
    assert put(legacy(fake, store), session_id, Body(longer), len(longer))["result"]["status"] == "uploaded"
    assert old.id not in fake.uploads and fake.count("POST", "tus-create") == 2
    assert bytes(fake.only_upload().data) == longer


def test_a_retry_after_the_upload_finished_answers_200_if_it_is_the_same_body_else_400(
    fake: FakeV3, tmp_path: Path
) -> None:
    store = tmp_path / "state.sqlite3"
    data = os.urandom(5 * CHUNK + 17)
    client = legacy(fake, store)
    session_id = client.create_session("en")["result"]["session_id"]
    first = put(client, session_id, Body(data), len(data))
    sent = patched(fake)
    again = put(legacy(fake, store), session_id, Body(data), len(data))
    assert again == first
    assert patched(fake) == sent and fake.count("POST", "tus-create") == 1
    chunked = put(legacy(fake, store), session_id, Body(data), None)  # the same body without a length
    assert chunked == first
    for body, length in [
        (data[:-1] + bytes([data[-1] ^ 1]), len(data)),  # the last byte differs
        (data + b"x", len(data) + 1),  # longer
        (data + b"x", None),  # longer, without a length
        (data[:-5], None),  # shorter
    ]:
        with pytest.raises(BadRequestError) as refused:
            put(legacy(fake, store), session_id, Body(body), length)
        assert refused.value.body == ALREADY
    assert fake.count("POST", "tus-create") == 1 and bytes(fake.only_upload().data) == data


def dead_holder() -> str:
    out = subprocess.run(
        [sys.executable, "-c", "from compat.liveness import new_holder_id; print(new_holder_id())"],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(Path(compat.__file__).resolve().parents[1])},
    )
    return out.stdout.strip()


def test_a_retry_after_the_upstream_had_it_all_but_the_process_died_before_saying_so(
    fake: FakeV3, tmp_path: Path
) -> None:
    store = tmp_path / "state.sqlite3"
    data = os.urandom(3 * CHUNK + 1)
    client = legacy(fake, store)
    session_id = client.create_session("en")["result"]["session_id"]
    put(client, session_id, Body(data), len(data))
    with sqlite3.connect(store) as db:  # as a process killed between the last PATCH and finishing the claim
        db.execute(
            "UPDATE sessions SET state = 'uploading', claim_holder = ?, claim_until = ?, claim_prior = 'new'"
            " WHERE session_id = ?",
            (dead_holder(), time.time() + 30, session_id),
        )
    sent = patched(fake)
    answer = put(legacy(fake, store), session_id, Body(data), len(data))
    assert answer["result"]["status"] == "uploaded"
    assert fake.count("POST", "tus-create") == 1 and patched(fake) == sent  # no second upload
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT state FROM sessions WHERE session_id = ?", (session_id,)).fetchone() == ("uploaded",)


def test_receipts_of_a_longer_upload_cut_off_are_not_taken_for_a_complete_shorter_one(
    fake: FakeV3, tmp_path: Path
) -> None:
    store = tmp_path / "state.sqlite3"
    data = os.urandom(4 * CHUNK)
    _, session_id = interrupted_put(fake, store, data, cut=2 * CHUNK)
    assert sum(n for _, n, _ in receipts_in(store, session_id)) == 2 * CHUNK
    [old] = fake.uploads.values()
    shorter = data[: 2 * CHUNK]  # exactly the bytes the receipts cover, but not the upload they belong to
    assert put(legacy(fake, store), session_id, Body(shorter), len(shorter))["result"]["status"] == "uploaded"
    assert old.id not in fake.uploads and fake.count("POST", "tus-create") == 2
    assert fake.only_upload().complete and bytes(fake.only_upload().data) == shorter


def test_a_chunked_put_uses_a_deferred_length_where_the_upstream_takes_one(deferring: FakeV3, tmp_path: Path) -> None:
    data = os.urandom(5 * CHUNK + 3)
    client = legacy(deferring, tmp_path / "state.sqlite3")
    session_id = client.create_session("en")["result"]["session_id"]
    assert put(client, session_id, Body(data), None)["result"]["status"] == "uploaded"
    upload = deferring.only_upload()
    assert upload.deferred and bytes(upload.data) == data
    # Sent again once it is up (its answer lost): the same body is the 200, other bytes the 400.
    assert put(legacy(deferring, tmp_path / "state.sqlite3"), session_id, Body(data), None)["result"]["status"] == (
        "uploaded"
    )
    with pytest.raises(BadRequestError):
        put(legacy(deferring, tmp_path / "state.sqlite3"), session_id, Body(data[:-1] + b"x"), None)
    assert len(deferring.uploads) == 1


def test_a_chunked_put_is_spooled_up_to_max_media_bytes_without_deferred_length(fake: FakeV3, tmp_path: Path) -> None:
    client = legacy(fake, tmp_path / "state.sqlite3", max_media_bytes=4 * CHUNK)
    session_id = client.create_session("en")["result"]["session_id"]
    with pytest.raises(ScriptixError) as refused:
        put(client, session_id, Body(os.urandom(4 * CHUNK + 1)), None)
    assert refused.value.status_code == 413
    assert fake.count("POST", "tus-create") == 0
    data = os.urandom(4 * CHUNK)
    assert put(client, session_id, Body(data), None)["result"]["status"] == "uploaded"
    assert bytes(fake.only_upload().data) == data


def test_deleting_the_session_drops_its_receipts(fake: FakeV3, tmp_path: Path) -> None:
    store = tmp_path / "state.sqlite3"
    data = os.urandom(3 * CHUNK)
    client, session_id = interrupted_put(fake, store, data, cut=2 * CHUNK + 1)
    assert receipts_in(store, session_id) != []
    client.delete(session_id)
    assert receipts_in(store, session_id) == []


def test_the_resume_key_names_the_session_and_its_owner() -> None:
    assert media_resume_key("s-1", "owner-a") != media_resume_key("s-1", "owner-b")
    assert media_resume_key("s-1", "owner-a") != media_resume_key("s-2", "owner-a")


def test_two_puts_of_one_session_in_one_process_upload_once(fake: FakeV3, tmp_path: Path) -> None:
    store = tmp_path / "state.sqlite3"
    data = os.urandom(8 * CHUNK)
    client = legacy(fake, store)
    session_id = client.create_session("en")["result"]["session_id"]
    gate = threading.Event()
    answers: list[Any] = []

    def slow(position: int) -> None:
        if position == 0:
            gate.wait(5)

    def run(body: Body) -> None:
        try:
            answers.append(put(client, session_id, body, len(data)))
        except ScriptixError as exc:
            answers.append(exc.status_code)

    first = threading.Thread(target=run, args=(Body(data, hold=slow),))
    first.start()
    deadline = time.monotonic() + 5
    while not client.translator.transfers.running(session_id) and time.monotonic() < deadline:
        time.sleep(0.01)
    run(Body(data))
    gate.set()
    first.join(10)
    assert 400 in answers and len(answers) == 2
    assert fake.count("POST", "tus-create") == 1 and bytes(fake.only_upload().data) == data


def test_a_put_that_overlapped_the_one_that_sent_the_media_is_refused_even_with_the_same_bytes(
    fake: FakeV3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "state.sqlite3"
    data = os.urandom(3 * CHUNK)
    first, second = legacy(fake, store), legacy(fake, store)  # two processes sharing the store
    session_id = first.create_session("en")["result"]["session_id"]
    claim = second.translator.sessions.claim

    def after_the_other_put(*args: Any, **kwargs: Any) -> Any:
        put(first, session_id, Body(data), len(data))  # began later, finished first
        return claim(*args, **kwargs)

    monkeypatch.setattr(second.translator.sessions, "claim", after_the_other_put)
    with pytest.raises(BadRequestError) as refused:
        put(second, session_id, Body(data), len(data))
    assert refused.value.body == ALREADY
    assert fake.count("POST", "tus-create") == 1 and bytes(fake.only_upload().data) == data
