"""The upload claim: one upload per session across every process (connection) sharing a store.

The claim is one conditional UPDATE in the store; its lease is renewed by the holder's process and
taken over once it ran out. These tests use several connections to one store, as several processes
would, on each backend (a SQLite file, a PostgreSQL database); tests/defects/test_item_05_* races
real processes and gateways.
"""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_v3 import FakeV3
from pytest_httpserver import HTTPServer
from store_backends import Backend
from werkzeug import Request, Response

from compat import BadRequestError, ConfigurationError, LegacyClient, Settings, SQLiteStore
from compat.sessions import SessionBook
from compat.store import StoreError

TOKEN = "claim-token-9d2c41"
OTHER = "claim-other-token-51e0aa"
FIXTURE = Path(__file__).parents[1] / "fixtures" / "store_v0"
ALREADY = {"error": "Invalid data: media was already uploaded for this session"}


@pytest.fixture
def where(store_backend: Backend) -> Backend:
    """The store every process of a test shares: a SQLite file, or a PostgreSQL database."""
    return store_backend


@pytest.fixture
def books() -> Iterator[list[SessionBook]]:
    """Session books, each on a connection of its own to one store (as separate processes)."""
    opened: list[SessionBook] = []
    yield opened
    for book in opened:
        book.store.close()


def open_book(books: list[SessionBook], where: Backend | Path, lease: float = 30.0) -> SessionBook:
    store = where.open() if isinstance(where, Backend) else SQLiteStore(where)
    book = SessionBook(store, lease=lease)
    books.append(book)
    return book


def row(where: Backend, session_id: str) -> dict[str, Any]:
    """The session's row as the store holds it, read on a connection of its own."""
    return where.row(session_id)


def write(where: Backend, sql: str, params: tuple[Any, ...] = ()) -> None:
    where.write(sql, params)


def held_by_a_dead_process(where: Backend, session_id: str, *, prior: str = "new", until: float | None = None) -> None:
    """The session as a killed process leaves it: claimed, lease ending at ``until`` (default: now)."""
    write(
        where,
        "UPDATE sessions SET state = 'uploading', claim_holder = 'dead.0', claim_until = ?, claim_prior = ?"
        " WHERE session_id = ?",
        (time.time() if until is None else until, prior, session_id),
    )


# the claim in the store -----------------------------------------------------------------------


def test_of_many_connections_racing_for_a_claim_exactly_one_wins(books: list[SessionBook], where: Backend) -> None:
    racers = [open_book(books, where) for _ in range(4)]
    owner = racers[0].owner_of(TOKEN)
    for number in range(25):
        session_id = f"race{number}"
        racers[0].remember(TOKEN, session_id, {"language": "en"})
        barrier = threading.Barrier(len(racers))
        won: list[Any] = []

        def race(
            book: SessionBook, sid: str = session_id, gate: threading.Barrier = barrier, winners: list[Any] = won
        ) -> None:
            gate.wait(10)
            claim = book.claim(sid, owner)
            if claim is not None:
                winners.append(claim)

        threads = [threading.Thread(target=race, args=(book,)) for book in racers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert len(won) == 1, f"round {number}: {len(won)} winners"
        assert row(where, session_id)["claim_holder"] == won[0].holder
        won[0].release()


def test_a_held_claim_is_refused_and_released_gives_back_the_state_it_had(
    books: list[SessionBook], where: Backend
) -> None:
    first, second = open_book(books, where), open_book(books, where)
    first.remember(TOKEN, "s1", {"language": "en"}, state="failed")
    owner = first.owner_of(TOKEN)
    claim = first.claim("s1", owner, filename="talk.wav", media_type="audio")
    assert claim is not None and claim.prior == "failed"
    assert row(where, "s1")["state"] == "uploading" and row(where, "s1")["filename"] == "talk.wav"
    assert second.claim("s1", owner) is None
    claim.release()
    after = row(where, "s1")
    assert (after["state"], after["claim_holder"], after["claim_until"]) == ("failed", None, None)
    again = second.claim("s1", owner)  # claimable again at once
    assert again is not None
    again.release(state="failed", error="it went wrong")
    assert (row(where, "s1")["state"], row(where, "s1")["error"]) == ("failed", "it went wrong")


def test_a_finished_claim_leaves_the_session_uploaded_for_good(books: list[SessionBook], where: Backend) -> None:
    book, other = open_book(books, where), open_book(books, where)
    book.remember(TOKEN, "s1", {"language": "en"})
    claim = book.claim("s1", book.owner_of(TOKEN))
    assert claim is not None
    claim.finish(media_type="audio")
    claim.release()  # ending twice changes nothing
    after = row(where, "s1")
    assert (after["state"], after["media_type"], after["claim_holder"]) == ("uploaded", "audio", None)
    assert other.claim("s1", other.owner_of(TOKEN)) is None


def test_a_claim_is_only_for_the_sessions_owner(books: list[SessionBook], where: Backend) -> None:
    book = open_book(books, where)
    book.remember(TOKEN, "s1", {"language": "en"})
    assert book.claim("s1", book.owner_of(OTHER)) is None
    assert book.claim("unknown", book.owner_of(TOKEN)) is None
    assert row(where, "s1")["state"] == "new"


def test_the_holder_renews_its_claim_beyond_the_lease(books: list[SessionBook], where: Backend) -> None:
    holder, other = open_book(books, where, lease=0.3), open_book(books, where, lease=0.3)
    holder.remember(TOKEN, "s1", {"language": "en"})
    owner = holder.owner_of(TOKEN)
    claim = holder.claim("s1", owner)
    assert claim is not None
    first_until = row(where, "s1")["claim_until"]
    time.sleep(1.0)  # more than three leases
    assert row(where, "s1")["claim_until"] > first_until
    assert other.claim("s1", owner) is None, "a live holder's claim was taken over"
    claim.release()
    assert other.claim("s1", owner) is not None


def test_a_claim_whose_holder_stopped_renewing_is_taken_over_once_the_lease_ran_out(
    books: list[SessionBook], where: Backend
) -> None:
    book = open_book(books, where)
    book.remember(TOKEN, "s1", {"language": "en"})
    owner = book.owner_of(TOKEN)
    held_by_a_dead_process(where, "s1", prior="failed", until=time.time() + 0.4)
    assert book.claim("s1", owner) is None  # the lease still runs
    time.sleep(0.5)
    claim = book.claim("s1", owner)
    assert claim is not None
    assert claim.prior == "failed"  # the state before the dead holder's claim, kept through the takeover
    assert row(where, "s1")["claim_holder"] == claim.holder
    claim.release()
    assert row(where, "s1")["state"] == "failed"


def test_a_holder_that_lost_its_claim_notices_and_does_not_release_the_new_holders(
    books: list[SessionBook], where: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    old, new = open_book(books, where), open_book(books, where)
    old.remember(TOKEN, "s1", {"language": "en"})
    owner = old.owner_of(TOKEN)
    lost = old.claim("s1", owner)
    assert lost is not None
    write(where, "UPDATE sessions SET claim_until = 0 WHERE session_id = 's1'")  # as if frozen past its lease
    taken = new.claim("s1", owner)
    assert taken is not None
    with caplog.at_level(logging.WARNING, logger="compat.sessions"):
        assert lost.renew() is False
    assert lost.lost and "lapsed" in caplog.text
    lost.release()
    assert row(where, "s1")["claim_holder"] == taken.holder
    taken.release()


def test_takeover_only_picks_up_lapsed_claims(books: list[SessionBook], where: Backend) -> None:
    book = open_book(books, where)
    book.remember(TOKEN, "s1", {"language": "en"})
    owner = book.owner_of(TOKEN)
    assert book.claim("s1", owner, takeover_only=True) is None  # a new session is no job to pick up
    book.update("s1", state="uploading")  # as a version before claims left it: no lease, so lapsed
    claim = book.claim("s1", owner, takeover_only=True)
    assert claim is not None and claim.prior == "new"
    claim.release()


def test_release_lapsed_ends_only_a_dead_holders_claim(books: list[SessionBook], where: Backend) -> None:
    book = open_book(books, where)
    book.remember(TOKEN, "s1", {"language": "en"})
    owner = book.owner_of(TOKEN)
    held_by_a_dead_process(where, "s1", prior="failed", until=time.time() + 30)
    assert book.release_lapsed("s1", owner) is None  # still within its lease
    held_by_a_dead_process(where, "s1", prior="failed", until=time.time() - 1)
    assert book.release_lapsed("s1", book.owner_of(OTHER)) is None
    assert book.release_lapsed("s1", owner) == "failed"
    assert row(where, "s1")["claim_holder"] is None


def test_adopting_a_session_never_replaces_one_the_store_knows(books: list[SessionBook], where: Backend) -> None:
    first, second = open_book(books, where), open_book(books, where)
    assert first.adopt(TOKEN, "s1", {"language": "en"}) is True
    claim = first.claim("s1", first.owner_of(TOKEN))
    assert claim is not None
    assert second.adopt(TOKEN, "s1", {"language": "en"}) is False  # seen upstream by another process too
    assert row(where, "s1")["claim_holder"] == claim.holder
    assert row(where, "s1")["state"] == "uploading"
    claim.release()


def test_a_release_the_store_refuses_is_logged_and_the_claim_lapses(
    books: list[SessionBook], where: Backend, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    book = open_book(books, where)
    book.remember(TOKEN, "s1", {"language": "en"})
    claim = book.claim("s1", book.owner_of(TOKEN))
    assert claim is not None

    def full(sql: str, params: tuple[Any, ...] = ()) -> int:
        raise StoreError("the state store is full", reason="database or disk is full")

    monkeypatch.setattr(book.store, "write", full)
    with caplog.at_level(logging.WARNING, logger="compat.sessions"):
        claim.release()  # does not raise over the error already on its way up
    assert "could not release" in caplog.text
    assert claim.renew() is False  # no longer renewed: it lapses after its lease


# migration --------------------------------------------------------------------------------------


def test_a_store_made_before_claims_gets_the_claim_columns_and_keeps_its_sessions(
    books: list[SessionBook], tmp_path: Path
) -> None:
    path = tmp_path / "old.sqlite3"
    shutil.copy(FIXTURE / "state.sqlite3", path)
    expected = json.loads((FIXTURE / "expected.json").read_text())
    book = open_book(books, path)
    with sqlite3.connect(path) as db:
        columns = {r[1] for r in db.execute("PRAGMA table_info(sessions)")}
    assert {"claim_holder", "claim_until", "claim_prior"} <= columns
    for token, session_ids in expected["tokens"].items():
        for session_id in session_ids:
            record = book.open(token, session_id)
            assert record, session_id
            assert record.options == expected["sessions"][session_id]["options"]
            assert record.state == expected["sessions"][session_id]["state"]
    assert book.store.get_item("resume-key-1") == expected["uploads"]["resume-key-1"]
    # An 'uploading' of the old version has no lease: lapsed, so a caller may pick it up.
    alpha = book.owner_of("token-alpha")
    assert book.claim("sess-alpha-1", alpha) is None  # uploaded
    taken = book.claim("sess-alpha-2", alpha, takeover_only=True)
    assert taken is not None and taken.prior == "new"
    taken.release()
    open_book(books, path)  # opening a migrated store again changes nothing


# the lease option -------------------------------------------------------------------------------


def test_the_lease_is_an_option_with_a_30_second_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings.resolve(environ={}).claim_lease == 30.0
    assert Settings.resolve(environ={"SCRIPTIX_COMPAT_CLAIM_LEASE": "5"}).claim_lease == 5.0
    for wrong in (0, -1, "soon"):
        with pytest.raises(ConfigurationError, match="claim_lease"):
            Settings.resolve(environ={}, claim_lease=wrong)
    client = LegacyClient(api_key=TOKEN, base_url="http://127.0.0.1:9", store=":memory:", claim_lease=2)
    assert client.translator.sessions.lease == 2.0


# the translator under the claim ---------------------------------------------------------------


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeV3:
    return FakeV3(httpserver, token=TOKEN)


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    path = tmp_path / "talk.wav"
    path.write_bytes(b"RIFF" + bytes(range(256)) * 800)
    return path


def legacy(fake: FakeV3, where: Backend, **options: Any) -> LegacyClient:
    """A LegacyClient on the shared store, as another process would have (its store closed at the end)."""
    settings: dict[str, Any] = {"chunk_size": 64 * 1024, "backoff_base": 0.001}
    settings.update(options)
    client = LegacyClient(api_key=TOKEN, base_url=fake.base_url, store=where.value, **settings)
    where.opened.append(client.v3.store)
    return client


def test_an_upload_while_another_process_holds_the_claim_gets_the_v1_400_and_sends_nothing(
    fake: FakeV3, wav: Path, where: Backend, books: list[SessionBook]
) -> None:
    client = legacy(fake, where)
    session_id = client.create_session("en")["result"]["session_id"]
    elsewhere = open_book(books, where)  # another process, uploading this session right now
    claim = elsewhere.claim(session_id, elsewhere.owner_of(TOKEN))
    assert claim is not None
    with pytest.raises(BadRequestError) as refused:
        legacy(fake, where).upload(session_id, wav)
    assert refused.value.status_code == 400
    assert json.dumps(refused.value.body) == json.dumps(ALREADY)
    assert fake.count("POST", "tus-create") == 0 and fake.count("PATCH", "tus-upload") == 0
    assert row(where, session_id)["claim_holder"] == claim.holder  # the refusal took nothing from it
    claim.release()


def test_an_interrupted_upload_releases_its_claim_so_the_caller_can_retry_at_once(
    fake: FakeV3, wav: Path, where: Backend
) -> None:
    client = legacy(fake, where)
    session_id = client.create_session("en")["result"]["session_id"]

    def interrupt(done: int, total: int) -> None:
        if done > 0:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        client.upload(session_id, wav, on_progress=interrupt)
    after = row(where, session_id)
    assert (after["state"], after["claim_holder"], after["claim_until"]) == ("new", None, None)
    answer = legacy(fake, where).upload(session_id, wav)  # another process, right away
    assert answer["result"]["status"] == "uploaded"
    assert fake.count("POST", "tus-create") == 1  # the retry resumed the upload already started
    assert bytes(fake.only_upload().data) == wav.read_bytes()


def test_an_upload_whose_claim_was_taken_over_midway_stops_and_leaves_the_session_to_the_taker(
    fake: FakeV3, wav: Path, where: Backend
) -> None:
    """A holder frozen past its lease, its claim taken over meanwhile: at its next chunk it stops
    with V1's 400, writing no receipt over the taker's and giving nothing back (issue 13)."""
    client = legacy(fake, where)
    session_id = client.create_session("en")["result"]["session_id"]

    def taken_over_now(done: int, total: int) -> None:
        if done > 0 and row(where, session_id)["claim_holder"] != "taker.0":
            write(where, "UPDATE sessions SET claim_holder = 'taker.0' WHERE session_id = ?", (session_id,))

    with pytest.raises(BadRequestError) as refused:
        client.upload(session_id, wav, on_progress=taken_over_now)
    assert json.dumps(refused.value.body) == json.dumps(ALREADY)
    after = row(where, session_id)
    assert (after["state"], after["claim_holder"]) == ("uploading", "taker.0")  # the taker's, untouched
    assert where.rows("SELECT * FROM upload_receipts WHERE session_id = ?", (session_id,)) == []
    assert fake.count("PATCH", "tus-upload") == 1  # stopped at the first chunk the server confirmed


def test_a_failed_upload_releases_its_claim(fake: FakeV3, wav: Path, where: Backend) -> None:
    client = legacy(fake, where, max_retries=0)
    session_id = client.create_session("en")["result"]["session_id"]
    fake.fail("POST", "tus-create", 400)
    with pytest.raises(BadRequestError):
        client.upload(session_id, wav)
    assert (row(where, session_id)["state"], row(where, session_id)["claim_holder"]) == ("new", None)


def test_a_put_whose_holder_cannot_be_judged_is_offered_again_once_its_lease_ran_out(
    fake: FakeV3, wav: Path, where: Backend
) -> None:
    client = legacy(fake, where)
    session_id = client.create_session("en")["result"]["session_id"]
    held_by_a_dead_process(where, session_id, until=time.time() + 30)  # a holder of another host
    assert client.get_result(session_id)["result"]["status"] == "uploading"  # its holder may be alive
    write(where, "UPDATE sessions SET claim_until = 0 WHERE session_id = ?", (session_id,))
    assert client.get_result(session_id)["result"]["status"] == "new"  # upstream's word: the PUT is the caller's
    assert row(where, session_id)["state"] == "new"
    assert client.upload(session_id, wav)["result"]["status"] == "uploaded"


def dead_holder_of_this_machine() -> str:
    """The holder id a process of this machine had, once that process has exited (and been reaped)."""
    import subprocess
    import sys

    import compat

    out = subprocess.run(
        [sys.executable, "-c", "from compat.liveness import new_holder_id; print(new_holder_id())"],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(Path(compat.__file__).resolve().parents[1])},
    )
    return out.stdout.strip()


def test_a_put_whose_holder_process_on_this_machine_is_gone_takes_the_claim_over_at_once(
    fake: FakeV3, wav: Path, where: Backend
) -> None:
    client = legacy(fake, where, claim_lease=30)
    session_id = client.create_session("en")["result"]["session_id"]
    dead = dead_holder_of_this_machine()
    write(
        where,
        "UPDATE sessions SET state = 'uploading', claim_holder = ?, claim_until = ?, claim_prior = 'new'"
        " WHERE session_id = ?",
        (dead, time.time() + 30, session_id),
    )
    started = time.monotonic()
    assert client.upload(session_id, wav)["result"]["status"] == "uploaded"
    assert time.monotonic() - started < 10, "waited for the lease of a holder known to be gone"
    assert row(where, session_id)["state"] == "uploaded"


def test_a_put_whose_holder_process_is_gone_reads_as_its_state_before_at_once(fake: FakeV3, where: Backend) -> None:
    client = legacy(fake, where, claim_lease=30)
    session_id = client.create_session("en")["result"]["session_id"]
    write(
        where,
        "UPDATE sessions SET state = 'uploading', claim_holder = ?, claim_until = ?, claim_prior = 'new'"
        " WHERE session_id = ?",
        (dead_holder_of_this_machine(), time.time() + 30, session_id),
    )
    assert client.get_result(session_id)["result"]["status"] == "new"  # upstream's word: the PUT is the caller's
    assert (row(where, session_id)["state"], row(where, session_id)["claim_holder"]) == ("new", None)


def test_a_holder_of_this_process_is_alive_and_one_with_another_start_time_is_not() -> None:
    from compat.liveness import holder_alive, new_holder_id

    mine = new_holder_id()
    assert holder_alive(mine) is True
    machine, pid, start, tag = mine.split("/")
    assert holder_alive(f"{machine}/{pid}/{int(start) + 1}/{tag}") is False  # the PID of a process gone, reused
    assert holder_alive(f"0000000000000000/{pid}/{start}/{tag}") is None  # another machine: cannot tell
    assert holder_alive("12345.abcdef") is None  # a holder id of an earlier release


def test_a_put_waits_for_a_holder_it_cannot_judge_and_is_refused_when_the_lease_is_renewed(
    fake: FakeV3, wav: Path, where: Backend
) -> None:
    lease = 2.0
    client = legacy(fake, where, claim_lease=lease)
    session_id = client.create_session("en")["result"]["session_id"]
    held_by_a_dead_process(where, session_id, until=time.time() + lease)
    stop = threading.Event()

    def renew() -> None:  # the holder lives on another host: it renews its lease every third of it
        while not stop.wait(lease / 3):
            renewed = (time.time() + lease, session_id)
            write(where, "UPDATE sessions SET claim_until = ? WHERE session_id = ?", renewed)

    renewer = threading.Thread(target=renew, daemon=True)
    renewer.start()
    try:
        started = time.monotonic()
        with pytest.raises(BadRequestError) as refused:
            client.upload(session_id, wav)
        waited = time.monotonic() - started
    finally:
        stop.set()
        renewer.join()
    assert refused.value.body == ALREADY
    assert waited < lease + 1.5, "a renewal should end the wait before the lease would have run out"
    assert fake.count("POST", "tus-create") == 0


def test_a_put_waits_for_a_holder_it_cannot_judge_and_takes_over_when_the_lease_runs_out(
    fake: FakeV3, wav: Path, where: Backend
) -> None:
    lease = 2.0
    client = legacy(fake, where, claim_lease=lease)
    session_id = client.create_session("en")["result"]["session_id"]
    held_by_a_dead_process(where, session_id, until=time.time() + lease)  # another host's, dead: no renewal
    started = time.monotonic()
    assert client.upload(session_id, wav)["result"]["status"] == "uploaded"
    assert time.monotonic() - started >= lease * 0.8  # it waited for the lease
    assert fake.count("POST", "tus-create") == 1


@pytest.fixture
def media_server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.2", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


def poll_all_at_once(pollers: list[LegacyClient], session_id: str) -> list[str]:
    """The session's status as each poller's ``get_result`` reads it, all calls let go at once."""
    barrier = threading.Barrier(len(pollers))
    answers: list[str] = []

    def poll(client: LegacyClient) -> None:
        barrier.wait(10)
        answers.append(client.get_result(session_id)["result"]["status"])

    threads = [threading.Thread(target=poll, args=(client,)) for client in pollers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return answers


def test_a_media_source_job_is_picked_up_only_after_its_holders_lease_and_by_one_process(
    fake: FakeV3, media_server: HTTPServer, where: Backend
) -> None:
    data = bytes(range(256)) * 1200
    fetches: list[int] = []

    def media(request: Request) -> Response:
        fetches.append(1)
        return Response(data, content_type="audio/mpeg")

    media_server.expect_request("/talk.mp3").respond_with_handler(media)
    url = media_server.url_for("/talk.mp3")
    pollers = [legacy(fake, where, allow_private_media=True) for _ in range(3)]
    session_id = pollers[0].create_session("en")["result"]["session_id"]
    options = {"language": "en", "media_source": url}
    pollers[0].translator.sessions.remember(TOKEN, session_id, options)
    held_by_a_dead_process(where, session_id, until=time.time() + 30)  # its holder may still be alive
    assert [p.get_result(session_id)["result"]["status"] for p in pollers] == ["uploading"] * 3
    assert fetches == [] and fake.count("POST", "tus-create") == 0  # nobody started it a second time

    write(where, "UPDATE sessions SET claim_until = 0 WHERE session_id = ?", (session_id,))  # the lease ran out
    assert poll_all_at_once(pollers, session_id) == ["uploading"] * 3
    for client in pollers:
        assert client.translator.wait_for_transfers(10)
    assert fetches == [1], "the job was picked up by more than one process"
    assert fake.count("POST", "tus-create") == 1
    assert bytes(fake.only_upload().data) == data
    assert row(where, session_id)["state"] == "uploaded"


def test_a_claim_on_a_store_closed_under_it_is_given_up_once_and_other_books_renew_on(
    where: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    closed = SessionBook(where.open(), lease=0.3)
    closed.remember(TOKEN, "s1", {"language": "en"})
    orphan = closed.claim("s1", closed.owner_of(TOKEN))
    assert orphan is not None
    with caplog.at_level(logging.ERROR, logger="compat.sessions"):
        closed.store.close()
        time.sleep(0.5)
    assert "stopped renewing the upload claim on session s1" in caplog.text
    assert caplog.text.count("stopped renewing") == 1  # given up once, not retried forever
    live = SessionBook(where.open(), lease=0.3)
    try:
        live.remember(TOKEN, "s2", {"language": "en"})
        claim = live.claim("s2", live.owner_of(TOKEN))
        assert claim is not None
        before = row(where, "s2")["claim_until"]
        time.sleep(0.5)
        assert row(where, "s2")["claim_until"] > before
        claim.release()
    finally:
        live.store.close()


def test_a_session_first_seen_upstream_by_two_processes_at_once_is_still_uploaded_once(
    fake: FakeV3, wav: Path, where: Backend, books: list[SessionBook], monkeypatch: pytest.MonkeyPatch
) -> None:
    from compat import V3Client

    # Created outside the shim: each process learns of it upstream on its first PUT.
    session_id = V3Client(api_key=TOKEN, base_url=fake.base_url, store=":memory:").create_session(language="en")
    elsewhere = open_book(books, where)
    elsewhere.adopt(TOKEN, session_id.session_id, {"language": "en"})
    claim = elsewhere.claim(session_id.session_id, elsewhere.owner_of(TOKEN))  # the other process won the PUT
    assert claim is not None
    late = legacy(fake, where)
    opened = late.translator.sessions.open
    looks: list[int] = []

    def not_there_yet(token: str, sid: str) -> Any:
        looks.append(1)
        return None if len(looks) == 1 else opened(token, sid)  # its first look came before the other's adopt

    monkeypatch.setattr(late.translator.sessions, "open", not_there_yet)
    with pytest.raises(BadRequestError) as refused:
        late.upload(session_id.session_id, wav)
    assert refused.value.body == ALREADY
    assert fake.count("POST", "tus-create") == 0
    assert row(where, session_id.session_id)["claim_holder"] == claim.holder  # not replaced by the late adopt
    claim.release()


def test_a_media_source_job_whose_holder_process_is_gone_is_picked_up_at_once_by_one_process(
    fake: FakeV3, media_server: HTTPServer, where: Backend
) -> None:
    data = bytes(range(256)) * 1200
    fetches: list[int] = []

    def media(request: Request) -> Response:
        fetches.append(1)
        return Response(data, content_type="audio/mpeg")

    media_server.expect_request("/talk.mp3").respond_with_handler(media)
    url = media_server.url_for("/talk.mp3")
    pollers = [legacy(fake, where, allow_private_media=True) for _ in range(3)]
    session_id = pollers[0].create_session("en")["result"]["session_id"]
    pollers[0].translator.sessions.remember(TOKEN, session_id, {"language": "en", "media_source": url})
    write(
        where,
        "UPDATE sessions SET state = 'uploading', claim_holder = ?, claim_until = ?, claim_prior = 'new'"
        " WHERE session_id = ?",
        (dead_holder_of_this_machine(), time.time() + 30, session_id),
    )
    assert poll_all_at_once(pollers, session_id) == ["uploading"] * 3
    for client in pollers:
        assert client.translator.wait_for_transfers(10)
    assert fetches == [1], "the job was picked up by more than one process, or not at once"
    assert fake.count("POST", "tus-create") == 1 and bytes(fake.only_upload().data) == data
    assert row(where, session_id)["state"] == "uploaded"
