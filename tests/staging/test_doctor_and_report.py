"""doctor (settings and their sources, upstream, store, recent calls) and the report table."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import sqlite3
from pathlib import Path

import pytest
from fake_v3 import FakeV3
from pytest_httpserver import HTTPServer

from compat import LegacyClient
from compat.cli import main
from compat.staging.doctor import diagnose, render_text
from compat.staging.report_view import load_report, render_table
from compat.store import latest_version, open_store

TOKEN = "doctor-secret-token"
FIXTURES = Path(__file__).parents[1] / "fixtures"


def test_doctor_reports_settings_upstream_store_and_recent_calls(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeV3(httpserver, token=TOKEN)
    store = tmp_path / "state.sqlite3"
    report_path = tmp_path / "usage.json"
    monkeypatch.setenv("SCRIPTIX_COMPAT_REPORT", str(report_path))
    monkeypatch.setenv("SCRIPTIX_COMPAT_TIMEOUT", "7")
    client = LegacyClient(api_key=TOKEN, base_url=fake.base_url, store=str(store))
    client.create_session("en")
    import compat.usage

    compat.usage.report()
    result = diagnose(api_key=TOKEN, base_url=fake.base_url, store=str(store))
    settings = {row["option"]: row for row in result["settings"]}
    assert settings["timeout"]["value"] == 7.0
    assert settings["timeout"]["source"] == "environment variable SCRIPTIX_COMPAT_TIMEOUT"
    assert settings["base_url"]["source"] == "keyword base_url="
    assert settings["chunk_size"]["source"] == "default"
    assert settings["api_key"]["value"] == "set"
    assert result["upstream"]["reachable"] is True
    assert "termination" in result["upstream"]["tus_extensions"]
    assert result["store"]["healthy"] is True and result["store"]["journal_mode"] == "wal"
    assert result["store"]["sessions"] == 1
    assert result["legacy_calls"]["calls"][0]["operation"] == "create_session"
    text = render_text(result)
    assert "environment variable SCRIPTIX_COMPAT_TIMEOUT" in text and "create_session" in text
    assert TOKEN not in text and TOKEN not in json.dumps(result)


def test_doctor_says_when_the_upstream_is_unreachable(tmp_path: Path) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    result = diagnose(api_key=TOKEN, base_url=f"http://127.0.0.1:{port}", store=str(tmp_path / "s.sqlite3"))
    assert result["upstream"]["reachable"] is False
    assert "connection failed" in result["upstream"]["error"]
    assert "PROBLEM" in render_text(result)


def test_report_table_groups_and_totals(tmp_path: Path) -> None:
    path = tmp_path / "usage.json"
    calls = [
        {
            "operation": "upload",
            "file": "app/a.py",
            "line": 10,
            "function": "send",
            "count": 5,
            "first_seen": "2026-01-01T00:00:00+00:00",
            "last_seen": "2026-01-02T00:00:00+00:00",
            "replacement": "V3Client.upload(...)",
        },
        {
            "operation": "create_session",
            "file": "app/a.py",
            "line": 4,
            "function": "send",
            "count": 2,
            "first_seen": "2026-01-01T00:00:00+00:00",
            "last_seen": "2026-01-02T00:00:00+00:00",
            "replacement": "V3Client.create_session(...)",
        },
    ]
    path.write_text(json.dumps({"calls": calls}))
    table = render_table(load_report(path))
    lines = table.splitlines()
    assert lines[0].split() == ["operation", "count", "site", "function", "last", "seen"]
    assert lines[2].split()[:3] == ["upload", "5", "app/a.py:10"]
    assert "7 legacy calls from 2 sites: create_session 2, upload 5" in table
    assert "upload: V3Client.upload(...)" in table
    (tmp_path / "bad.json").write_text("[]")
    with pytest.raises(ValueError):
        load_report(tmp_path / "bad.json")
    with pytest.raises(ValueError):
        load_report(tmp_path / "missing.json")


# the store's schema version, and a PostgreSQL store reached ------------------------------------

PASSWORD = "doctor-db-password-5e1f"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_doctor_shows_the_sqlite_stores_schema_version(tmp_path: Path) -> None:
    store = tmp_path / "state.sqlite3"
    open_store(str(store)).close()
    report = diagnose(check_upstream=False, store=str(store))
    assert report["store"]["schema_version"] == latest_version()
    assert "schema_note" not in report["store"] and report["store"]["healthy"] is True
    assert f"schema_version: {latest_version()}" in render_text(report)


def test_doctor_says_an_old_sqlite_store_is_migrated_on_open(tmp_path: Path) -> None:
    store = tmp_path / "old.sqlite3"
    shutil.copy(FIXTURES / "store_v0" / "state.sqlite3", store)
    store.chmod(0o600)
    report = diagnose(check_upstream=False, store=str(store))
    assert report["store"]["schema_version"] < latest_version()
    assert f"migrates it to version {latest_version()}" in report["store"]["schema_note"]
    assert report["store"]["healthy"] is True


def test_doctor_reaches_a_postgresql_store_and_shows_its_schema_version(postgres_url: str) -> None:
    open_store(postgres_url).close()
    with_password = postgres_url.replace("postgres@", f"postgres:{PASSWORD}@", 1)  # trust auth ignores it
    assert PASSWORD in with_password
    report = diagnose(check_upstream=False, store=with_password)
    assert report["store"]["reachable"] is True and report["store"]["healthy"] is True
    assert report["store"]["schema_version"] == latest_version()
    text = render_text(report)
    assert f"schema_version: {latest_version()}" in text and "<redacted>" in text
    assert PASSWORD not in text and PASSWORD not in json.dumps(report)


def test_doctor_says_a_postgresql_database_holds_no_store_yet(postgres_url: str) -> None:
    report = diagnose(check_upstream=False, store=postgres_url)
    assert report["store"]["reachable"] is True and report["store"]["healthy"] is True
    assert "no store in this database yet" in report["store"]["note"]


def test_doctor_says_clearly_when_a_postgresql_store_cannot_be_reached(
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytest.importorskip("psycopg")
    url = f"postgresql://scriptix:{PASSWORD}@127.0.0.1:{closed_port()}/state"
    report = diagnose(check_upstream=False, store=url)
    assert report["store"]["healthy"] is False and report["store"]["reachable"] is False
    assert report["store"]["error"].startswith(
        "cannot reach the PostgreSQL state store postgresql://scriptix:<redacted>@"
    )
    text = render_text(report)
    assert "PROBLEM" in text and "cannot reach the PostgreSQL state store" in text
    assert PASSWORD not in text and PASSWORD not in json.dumps(report)
    assert main(["doctor", "--no-upstream", "--store", url]) == 1
    shown = capsys.readouterr()
    assert "cannot reach" in shown.out and PASSWORD not in shown.out + shown.err


def test_doctor_calls_a_store_of_a_newer_release_a_problem(tmp_path: Path) -> None:
    store = tmp_path / "state.sqlite3"
    open_store(str(store)).close()
    with contextlib.closing(sqlite3.connect(store)) as db, db:
        db.execute("UPDATE meta SET value = ? WHERE name = 'schema_version'", (str(latest_version() + 1),))
    report = diagnose(check_upstream=False, store=str(store))
    assert report["store"]["schema_version"] == latest_version() + 1
    assert "newer release" in report["store"]["schema_problem"] and report["store"]["healthy"] is False
    assert "PROBLEM" in render_text(report)
