"""Warnings at the caller's line, the usage report (merged across processes), strict mode."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
from fake_v3 import FakeV3
from pytest_httpserver import HTTPServer

import compat.usage
from compat import LegacyCallError, LegacyClient, LegacyV1Warning
from compat.staging import usage as usage_module

TOKEN = "staging-token"
SCRIPT = Path(__file__).with_name("legacy_script.py")


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeV3:
    return FakeV3(httpserver, token=TOKEN)


@pytest.fixture
def client(fake: FakeV3) -> LegacyClient:
    return LegacyClient(api_key=TOKEN, base_url=fake.base_url, store=":memory:")


@pytest.fixture(autouse=True)
def clean_staging_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SCRIPTIX_COMPAT_WARN", "SCRIPTIX_COMPAT_REPORT", "SCRIPTIX_COMPAT_STRICT"):
        monkeypatch.delenv(name, raising=False)
    usage_module._pending.clear()


@pytest.fixture
def media(tmp_path: Path) -> Path:
    path = tmp_path / "talk.wav"
    path.write_bytes(b"RIFF" + bytes(5000))
    return path


def _line_of(marker: str) -> int:
    """The line in this file that ends with ``# <marker>``."""
    for number, line in enumerate(Path(__file__).read_text().splitlines(), start=1):
        if line.rstrip().endswith(f"# {marker}"):
            return number
    raise AssertionError(marker)


# Warnings ---------------------------------------------------------------------------------------


def test_the_warning_names_the_callers_file_and_line(client: LegacyClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCRIPTIX_COMPAT_WARN", "always")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        client.create_session("en")  # create-call
    found = [w for w in caught if issubclass(w.category, LegacyV1Warning)]
    assert len(found) == 1
    warning = found[0]
    assert warning.filename == __file__
    assert warning.lineno == _line_of("create-call")
    assert issubclass(warning.category, DeprecationWarning)
    assert warning.category.__module__.startswith("compat")
    text = str(warning.message)
    assert "create_session" in text and "V3Client.create_session" in text and "MIGRATION.md#1-create-a-session" in text


def test_once_per_site_always_and_off(client: LegacyClient, monkeypatch: pytest.MonkeyPatch, media: Path) -> None:
    def calls() -> None:
        for _ in range(3):
            client.create_session("en")  # looped-call
        client.create_session("en")  # single-call

    globals().pop("__warningregistry__", None)
    with warnings.catch_warnings(record=True) as once:
        warnings.simplefilter("default")
        calls()
    assert sorted(w.lineno for w in once if w.category is LegacyV1Warning) == sorted(
        [_line_of("looped-call"), _line_of("single-call")]
    )
    monkeypatch.setenv("SCRIPTIX_COMPAT_WARN", "always")
    with warnings.catch_warnings(record=True) as always:
        warnings.simplefilter("default")
        calls()
    assert len([w for w in always if w.category is LegacyV1Warning]) == 4
    monkeypatch.setenv("SCRIPTIX_COMPAT_WARN", "off")
    with warnings.catch_warnings(record=True) as off:
        warnings.simplefilter("always")
        calls()
    assert [w for w in off if w.category is LegacyV1Warning] == []


def test_every_legacy_method_warns_with_its_operation(
    client: LegacyClient, media: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeV3
) -> None:
    monkeypatch.setenv("SCRIPTIX_COMPAT_WARN", "always")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        session_id = client.create_session("en")["result"]["session_id"]
        client.upload(session_id, media)
        client.get_result(session_id)
        client.delete(session_id)
    texts = [str(w.message) for w in caught if w.category is LegacyV1Warning]
    for operation in ("create_session", "upload", "get_result", "delete"):
        assert any(f"call {operation} " in text for text in texts), operation
    assert all(w.filename == __file__ for w in caught if w.category is LegacyV1Warning)


# Usage report -------------------------------------------------------------------------------------


def _run_script(fake: FakeV3, media: Path, env: dict[str, str], *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), fake.base_url, TOKEN, str(media), *extra],
        env={**os.environ, "SCRIPTIX_COMPAT_WARN": "off", **env},
        cwd=SCRIPT.parent,
        stderr=subprocess.PIPE,
        text=True,
    )


def _script_line(text: str) -> int:
    """The line of ``client.<text>(...)`` inside ``transcribe`` in the legacy script."""
    module = ast.parse(SCRIPT.read_text())
    function = next(n for n in module.body if isinstance(n, ast.FunctionDef) and n.name == "transcribe")
    for node in ast.walk(function):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == text:
            return node.lineno
    raise AssertionError(text)


def test_the_report_written_at_exit_merges_two_processes(fake: FakeV3, media: Path, tmp_path: Path) -> None:
    report = tmp_path / "usage.json"
    processes = [_run_script(fake, media, {"SCRIPTIX_COMPAT_REPORT": str(report)}) for _ in range(2)]
    for process in processes:
        _, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
    calls = json.loads(report.read_text())["calls"]
    by_operation = {c["operation"]: c for c in calls}
    assert set(by_operation) == {"create_session", "upload"}
    for operation, method in (("create_session", "create_session"), ("upload", "upload")):
        entry = by_operation[operation]
        assert entry["count"] == 4  # two calls in each of two processes
        assert entry["file"] == "legacy_script.py"
        assert entry["line"] == _script_line(method)
        assert entry["function"] == "transcribe"
        assert "V3Client" in entry["replacement"]
        assert entry["first_seen"] <= entry["last_seen"]


def test_report_api_writes_on_demand_and_does_not_count_twice(
    client: LegacyClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "now.json"
    monkeypatch.setenv("SCRIPTIX_COMPAT_REPORT", str(path))
    client.create_session("en")
    first = compat.usage.report()
    assert [c["count"] for c in first["calls"]] == [1]
    second = compat.usage.report()
    assert [c["count"] for c in second["calls"]] == [1]
    assert compat.usage.pending() == []


def test_an_unreadable_report_is_kept_aside_not_destroyed(tmp_path: Path) -> None:
    path = tmp_path / "usage.json"
    path.write_text("not json")
    result = compat.usage.merge_into(path, [])
    assert result == {"calls": []}
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("usage.json.unreadable-")]
    assert len(kept) == 1 and kept[0].read_text() == "not json"


# Strict mode --------------------------------------------------------------------------------------


def test_strict_mode_passes_the_baseline_and_fails_a_new_call(fake: FakeV3, media: Path, tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    recorded = _run_script(fake, media, {"SCRIPTIX_COMPAT_REPORT": str(baseline)})
    assert recorded.wait(60) == 0
    same = _run_script(fake, media, {"SCRIPTIX_COMPAT_STRICT": str(baseline)})
    _, err = same.communicate(timeout=60)
    assert same.returncode == 0, err
    new = _run_script(fake, media, {"SCRIPTIX_COMPAT_STRICT": str(baseline)}, "extra")
    _, err = new.communicate(timeout=60)
    assert new.returncode != 0
    assert "LegacyCallError" in err and "create_session" in err and "extra_call" in err


def test_strict_mode_in_process(client: LegacyClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    baseline = tmp_path / "baseline.json"
    monkeypatch.setenv("SCRIPTIX_COMPAT_REPORT", str(baseline))

    def known() -> Any:
        return client.create_session("en")

    known()
    compat.usage.report()
    monkeypatch.delenv("SCRIPTIX_COMPAT_REPORT")
    monkeypatch.setenv("SCRIPTIX_COMPAT_STRICT", str(baseline))
    known()  # in the baseline: allowed
    with pytest.raises(LegacyCallError) as caught:
        client.get_result("0123456789abcdef")  # a new operation and site
    assert caught.value.operation == "get_result"
    assert "get_result" in str(caught.value) and "test_strict_mode_in_process" in str(caught.value)


def test_a_missing_baseline_is_a_clear_error(
    client: LegacyClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from compat import ConfigurationError

    monkeypatch.setenv("SCRIPTIX_COMPAT_STRICT", str(tmp_path / "nope.json"))
    with pytest.raises(ConfigurationError) as caught:
        client.create_session("en")
    assert "SCRIPTIX_COMPAT_STRICT" in str(caught.value)


def test_a_module_run_with_python_m_warns_instead_of_failing(fake: FakeV3, tmp_path: Path) -> None:
    package = tmp_path / "mypkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "job.py").write_text(
        "import sys\n"
        "from compat import LegacyClient\n"
        "client = LegacyClient(api_key=sys.argv[2], base_url=sys.argv[1], store=':memory:')\n"
        "client.create_session('en')\n"
    )
    finished = subprocess.run(
        [sys.executable, "-m", "mypkg.job", fake.base_url, TOKEN],
        cwd=tmp_path,
        env={**os.environ, "SCRIPTIX_COMPAT_WARN": "always", "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 0, finished.stderr
    assert "LegacyV1Warning" in finished.stderr and "job.py:4" in finished.stderr


def test_the_gateway_records_legacy_calls_per_client(
    fake: FakeV3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import requests

    from compat.gateway import GatewayServer

    report = tmp_path / "usage.json"
    monkeypatch.setenv("SCRIPTIX_COMPAT_REPORT", str(report))
    with GatewayServer(fake.base_url, store=":memory:") as gateway:
        headers = {"x-zoom-s2t-key": TOKEN}
        for _ in range(2):
            created = requests.post(
                f"{gateway.url}/api/v3/speech-to-text/session", json={"language": "en"}, headers=headers, timeout=30
            )
            assert created.status_code == 200
        requests.get(
            f"{gateway.url}/api/v3/speech-to-text/session/{created.json()['result']['session_id']}/result",
            headers=headers,
            timeout=30,
        )
    calls = {c["operation"]: c for c in compat.usage.report()["calls"]}
    assert calls["create_session"]["count"] == 2 and calls["get_result"]["count"] == 1
    assert calls["create_session"]["client"] == "127.0.0.1"
    assert calls["create_session"]["file"] == "gateway:127.0.0.1"
    assert TOKEN not in report.read_text()
