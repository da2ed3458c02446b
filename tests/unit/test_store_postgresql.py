"""The PostgreSQL store's own duties: the URL, the extra, the password, failures as 503s, the pool.

What every backend does (the interface, the claim, the migrations) is tested over both backends in
test_store.py, test_claims.py and test_store_schema.py; this module covers what only the
PostgreSQL backend has: choosing it by URL, its missing extra, a password that never shows, a lost
or slow database as a StoreError (503) and then recovery, bounded waits, a pool per process after
``fork``, and leases on the server's clock.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import sys
import threading
import time
from typing import Any

import pytest
from pg_guard import admin, database_of, drop_database, require_postgres, terminate_connections

from compat import ConfigurationError, LegacyClient, Options, Settings, StoreError
from compat.config import check_options
from compat.sessions import SessionBook
from compat.store import open_store
from compat.store.schema import latest_version

if os.environ.get("CI"):  # CI never skips: psycopg comes with the dev extra
    import psycopg
else:
    psycopg = pytest.importorskip("psycopg")

from compat.store.postgresql import PostgreSQLStore

PASSWORD = "hunter2-pg-secret-41c7"
TOKEN = "pg-store-token-8e21f0"


def with_password(url: str) -> str:
    """``url`` with a password in it (trust authentication ignores it)."""
    scheme, rest = url.split("://", 1)
    user, host = rest.split("@", 1)
    return f"{scheme}://{user}:{PASSWORD}@{host}"


@pytest.fixture
def store(postgres_url: str) -> Any:
    opened = PostgreSQLStore(postgres_url)
    yield opened
    opened.close()


# choosing the backend ----------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "PostgreSQL"])
def test_a_postgresql_url_opens_the_postgresql_store(postgres_url: str, scheme: str) -> None:
    url = scheme + postgres_url[len("postgresql") :]
    store = open_store(url)
    try:
        assert isinstance(store, PostgreSQLStore)
        assert store.schema_version == latest_version()
        assert repr(store) == f"PostgreSQLStore({url[: len(scheme)].lower() + url[len(scheme) :]!r})"
    finally:
        store.close()


def test_the_option_and_the_environment_take_the_url(postgres_url: str) -> None:
    client = LegacyClient(api_key=TOKEN, base_url="http://127.0.0.1:9", store=postgres_url)
    assert isinstance(client.v3.store, PostgreSQLStore)
    client.v3.store.close()
    settings = Settings.resolve(environ={"SCRIPTIX_COMPAT_STORE": postgres_url})
    assert settings.store == postgres_url


def test_without_the_extra_a_postgresql_url_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if not installed
    monkeypatch.delitem(sys.modules, "compat.store.postgresql", raising=False)
    with pytest.raises(ConfigurationError) as caught:
        open_store(f"postgresql://scriptix:{PASSWORD}@127.0.0.1:5432/state")
    assert caught.value.option == "store"
    assert "pip install 'scriptix-compat[postgres]'" in str(caught.value)
    assert PASSWORD not in str(caught.value) and PASSWORD not in repr(caught.value)


def test_an_unreachable_server_is_refused_at_once_without_the_password() -> None:
    started = time.monotonic()
    with pytest.raises(ConfigurationError) as caught:
        open_store(f"postgresql://scriptix:{PASSWORD}@127.0.0.1:1/state")
    assert time.monotonic() - started < 10
    message = str(caught.value)
    assert caught.value.option == "store"
    assert "postgresql://scriptix:<redacted>@127.0.0.1:1/state" in message
    assert PASSWORD not in message and PASSWORD not in repr(caught.value)


def test_a_url_libpq_cannot_read_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="is not a PostgreSQL URL") as caught:
        open_store(f"postgresql://scriptix:{PASSWORD}@127.0.0.1:5432/state?no_such_parameter=1")
    assert PASSWORD not in str(caught.value)


# the password ------------------------------------------------------------------------------------


def test_the_password_shows_nowhere(postgres_url: str, caplog: pytest.LogCaptureFixture) -> None:
    url = with_password(postgres_url)
    with caplog.at_level(logging.DEBUG):
        store = open_store(url)
        try:
            shown = [repr(store), str(Settings.resolve(environ={}, store=url))]
            shown.append(repr(Options.resolve(environ={}, store=url)))
            shown += [str(check.value) for check in check_options(environ={}, store=url)]
            with pytest.raises(StoreError) as caught:
                store.execute("SELECT * FROM no_such_table")
            shown += [str(caught.value), json.dumps(caught.value.body)]
            terminate_connections(postgres_url)
            for _ in range(3):
                try:
                    store.get_item("k")
                except StoreError as exc:
                    shown.append(str(exc))
        finally:
            store.close()
    assert "postgresql://postgres:<redacted>@" in shown[0]
    assert "<redacted>" in shown[1]
    everything = "\n".join(shown) + caplog.text
    assert PASSWORD not in everything


def test_doctor_shows_the_store_url_without_its_password() -> None:
    from compat.staging.doctor import diagnose, render_text

    with socket.socket() as probe:  # a port nothing listens on: doctor tries it, and says so
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    report = diagnose(check_upstream=False, store=f"postgresql://scriptix:{PASSWORD}@127.0.0.1:{port}/state")
    text = render_text(report)
    assert f"postgresql://scriptix:<redacted>@127.0.0.1:{port}/state" in text
    assert PASSWORD not in text and PASSWORD not in json.dumps(report)


# a lost, slow or busy database: a 503, never a hang, and recovery --------------------------------


def test_killed_connections_cost_at_most_a_503_and_the_store_recovers(
    store: PostgreSQLStore, postgres_url: str
) -> None:
    store.set_item("k", "http://127.0.0.1:9/files/1")
    failures = 0
    for _ in range(5):  # as a restarted server or a failover would: every connection dies
        assert terminate_connections(postgres_url) >= 1
        answers = []
        for _ in range(3):
            try:
                answers.append(store.get_item("k"))
            except StoreError as exc:
                failures += 1
                assert exc.status_code == 503
                assert exc.body == {
                    "error": "Service Unavailable: the shim's state store cannot be used"
                    " (its database cannot be reached); retry later"
                }
        assert answers[-2:] == ["http://127.0.0.1:9/files/1"] * 2  # recovered, without a restart
    assert failures <= 1  # an ended connection is seen before use (the server's notice is on its socket)


def test_a_legacy_client_answers_503_while_its_database_is_gone_and_recovers(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fake_v3 import FakeV3
    from pytest_httpserver import HTTPServer

    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        fake = FakeV3(server, token=TOKEN)
        client = LegacyClient(api_key=TOKEN, base_url=fake.base_url, store=postgres_url)
        store = client.v3.store
        try:
            session_id = client.create_session("en")["result"]["session_id"]
            # the database refuses every new connection for now (as while it restarts) and drops the old ones
            admin("ALTER DATABASE " + postgres_url.rsplit("/", 1)[1] + " ALLOW_CONNECTIONS false")
            terminate_connections(postgres_url)
            started = time.monotonic()
            with pytest.raises(StoreError) as caught:
                client.get_result(session_id)
            assert time.monotonic() - started < 15  # the pool's wait, not a hang
            assert caught.value.status_code == 503 and set(caught.value.body) == {"error"}
            admin("ALTER DATABASE " + postgres_url.rsplit("/", 1)[1] + " ALLOW_CONNECTIONS true")
            deadline = time.monotonic() + 30
            while True:
                try:
                    answer = client.get_result(session_id)
                    break
                except StoreError:
                    assert time.monotonic() < deadline, "the store did not recover"
                    time.sleep(0.2)
            assert answer["result"]["session_id"] == session_id
        finally:
            store.close()
    finally:
        server.clear()
        server.stop()


def test_a_row_locked_for_too_long_is_a_503_not_a_hang(postgres_url: str) -> None:
    store = PostgreSQLStore(postgres_url, lock_timeout=0.5)
    try:
        book = SessionBook(store)
        book.remember(TOKEN, "s1", {"language": "en"})
        with psycopg.connect(postgres_url) as other:  # another transaction holds the session's row
            other.execute("SELECT * FROM sessions WHERE session_id = 's1' FOR UPDATE")
            started = time.monotonic()
            with pytest.raises(StoreError) as caught:
                book.claim("s1", book.owner_of(TOKEN))
            assert time.monotonic() - started < 5
            assert caught.value.status_code == 503
            assert "a lock was not granted in time" in caught.value.body["error"]
        claim = book.claim("s1", book.owner_of(TOKEN))  # the row is free again
        assert claim is not None
        claim.release()
    finally:
        store.close()


def test_a_statement_that_runs_too_long_is_a_503(postgres_url: str) -> None:
    store = PostgreSQLStore(postgres_url, statement_timeout=0.3)
    try:
        with pytest.raises(StoreError) as caught:
            store.execute("SELECT pg_sleep(3)")
        assert "a statement ran out of time" in caught.value.body["error"]
        assert store.get_item("k") is None  # the connection is still good
    finally:
        store.close()


def test_waiting_for_a_pooled_connection_is_bounded(postgres_url: str) -> None:
    store = PostgreSQLStore(postgres_url, max_size=1, wait_timeout=0.3)
    try:
        sleeping = threading.Thread(target=store.execute, args=("SELECT pg_sleep(2)",))
        sleeping.start()
        deadline = time.monotonic() + 10
        while not admin(  # until it holds the only connection
            "SELECT 1 FROM pg_stat_activity WHERE datname = %s AND query = 'SELECT pg_sleep(2)' AND state = 'active'",
            (database_of(postgres_url),),
        ):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        started = time.monotonic()
        with pytest.raises(StoreError) as caught:
            store.get_item("k")
        assert time.monotonic() - started < 1.5
        assert "no connection to its database within 0.3 s" in caught.value.body["error"]
        sleeping.join(5)
        assert store.get_item("k") is None
    finally:
        store.close()


def test_the_url_keeps_its_own_timeouts(postgres_url: str) -> None:
    store = PostgreSQLStore(postgres_url + "?options=-c%20statement_timeout%3D1234", statement_timeout=9)
    try:
        [(value,)] = store.execute("SHOW statement_timeout")
        [(lock,)] = store.execute("SHOW lock_timeout")
        [(name,)] = store.execute("SHOW application_name")
    finally:
        store.close()
    assert (value, lock, name) == ("1234ms", "10s", "scriptix-compat")


# fork: a pool per process -----------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_gets_its_own_connections_and_leaves_the_parents_alone(postgres_url: str) -> None:
    store = PostgreSQLStore(postgres_url, max_size=1)
    try:
        [(parent_backend,)] = store.execute("SELECT pg_backend_pid()")  # the parent's pool exists now
        reader, writer = os.pipe()
        child = os.fork()
        if child == 0:  # the child: use the inherited store object, then close it
            code = 1
            try:
                [(backend,)] = store.execute("SELECT pg_backend_pid()")
                store.set_item("from-child", "http://127.0.0.1:9/files/child")
                store.close()
                os.write(writer, json.dumps({"backend": backend}).encode())
                code = 0
            finally:
                os._exit(code)
        os.close(writer)
        with os.fdopen(reader) as pipe:
            answer = json.loads(pipe.read() or "{}")
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert answer["backend"] != parent_backend  # the child did not talk over the parent's socket
        assert store.execute("SELECT pg_backend_pid()") == [(parent_backend,)]  # nor close the parent's connection
        assert store.get_item("from-child") == "http://127.0.0.1:9/files/child"
    finally:
        store.close()


# time: the server's clock ------------------------------------------------------------------------


def test_leases_are_measured_on_the_servers_clock(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    require_postgres()
    honest = PostgreSQLStore(postgres_url)
    book = SessionBook(honest, lease=30)
    book.remember(TOKEN, "s1", {"language": "en"})
    claim = book.claim("s1", book.owner_of(TOKEN))
    assert claim is not None
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 3600)  # a host whose clock runs an hour ahead
    ahead = PostgreSQLStore(postgres_url)
    try:
        [(server,)] = admin("SELECT EXTRACT(EPOCH FROM clock_timestamp())::float8")
        assert abs(ahead._now() - server) < 2
        other = SessionBook(ahead, lease=30)
        assert other.claim("s1", other.owner_of(TOKEN)) is None  # the lease has not run out anywhere
    finally:
        monkeypatch.undo()
        claim.release()
        ahead.close()
        honest.close()


# the database user's rights ----------------------------------------------------------------------


def test_a_role_that_may_not_create_tables_is_told_and_works_once_an_owner_migrated(postgres_url: str) -> None:
    role = f"scx_role_{secrets.token_hex(4)}"
    database = database_of(postgres_url)
    admin(f'CREATE ROLE "{role}" LOGIN')
    try:
        admin(f'GRANT CONNECT ON DATABASE "{database}" TO "{role}"')
        as_role = postgres_url.replace("postgresql://postgres@", f"postgresql://{role}@")
        with psycopg.connect(postgres_url, autocommit=True) as owner:  # PostgreSQL 15's default, on any version
            owner.execute(f'REVOKE CREATE ON SCHEMA public FROM PUBLIC, "{role}"')
        with pytest.raises(ConfigurationError) as caught:
            open_store(as_role)
        assert "cannot migrate the state store" in str(caught.value)
        assert "permission denied" in str(caught.value)
        open_store(postgres_url).close()  # the owner migrates it once
        with psycopg.connect(postgres_url, autocommit=True) as owner:
            owner.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"')
        store = open_store(as_role)
        try:
            book = SessionBook(store)
            book.remember(TOKEN, "s1", {"language": "en"})
            claim = book.claim("s1", book.owner_of(TOKEN))
            assert claim is not None
            claim.release()
        finally:
            store.close()
    finally:
        drop_database(database)  # with the grants to the role in it (the fixture's drop finds it gone)
        admin(f'DROP ROLE IF EXISTS "{role}"')
