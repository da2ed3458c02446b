"""doctor (settings and their sources, upstream, store, recent calls) and the report table."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from fake_v3 import FakeV3
from pytest_httpserver import HTTPServer

from compat import LegacyClient
from compat.staging.doctor import diagnose, render_text
from compat.staging.report_view import load_report, render_table

TOKEN = "doctor-secret-token"


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
