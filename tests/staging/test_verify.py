"""Dual-run verification: normalising, diffing, shadow comparisons."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fake_v3 import FakeV3
from pytest_httpserver import HTTPServer

from compat import ConfigurationError, LegacyClient
from compat.staging.verify import diff, normalise

TOKEN = "verify-token"


def result(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "count": 1,
        "total_results": 1,
        "result": {
            "duration": 2,
            "error": None,
            "filename": "a.wav",
            "media_type": "audio",
            "media_url": "https://storage/x",
            "session_id": "aaaa",
            "status": "done",
            "results": [{"result": [["hello", 0.0, 0.5, 0.98]], "speaker": "unk", "text": "hello", "channel": 0}],
        },
    }
    base["result"].update(changes)
    return base


def test_normalise_drops_ids_urls_and_timestamps_only() -> None:
    cleaned = normalise(result(created_at="2026-01-01"))
    assert "session_id" not in cleaned["result"] and "media_url" not in cleaned["result"]
    assert "created_at" not in cleaned["result"]
    assert cleaned["result"]["filename"] == "a.wav" and cleaned["result"]["results"][0]["text"] == "hello"


def test_diff_names_each_field_and_tolerates_float_noise() -> None:
    same = diff(normalise(result()), normalise(result(session_id="bbbb", media_url=None)))
    assert same == []
    noisy = result()
    noisy["result"]["results"][0]["result"][0][1] = 0.0004
    assert diff(normalise(result()), normalise(noisy), tolerance=1e-3) == []
    changed = result(status="failed")
    changed["result"]["results"][0]["result"][0][0] = "yellow"
    found = {d.path: (d.v1, d.shim) for d in diff(normalise(result()), normalise(changed))}
    assert found == {"$.result.status": ("done", "failed"), "$.result.results[0].result[0][0]": ("hello", "yellow")}
    assert diff({"a": [1, 2]}, {"a": [1]})[0].path == "$.a.length"
    assert diff({"a": True}, {"a": 1})[0].path == "$.a"  # a boolean is not a number
    assert diff({"a": 1}, {"b": 1}) != []


def test_shadow_records_mismatches_without_changing_the_answer(httpserver: HTTPServer, tmp_path: Path) -> None:
    fake = FakeV3(httpserver, token=TOKEN)
    v1 = HTTPServer(host="127.0.0.1", port=0)
    v1.start()
    try:
        client = LegacyClient(
            api_key=TOKEN, base_url=fake.base_url, store=":memory:", shadow_rate=1.0, shadow_base_url=v1.url_for("/")
        )
        session_id = client.create_session("en")["result"]["session_id"]
        v1.expect_request(f"/api/v3/speech-to-text/session/{session_id}/result").respond_with_json(
            {
                "count": 1,
                "total_results": 1,
                "result": {
                    "session_id": session_id,
                    "status": "processing",
                    "duration": 0,
                    "error": None,
                    "filename": None,
                    "media_type": None,
                    "media_url": None,
                },
            }
        )
        answer = client.get_result(session_id)
        assert answer["result"]["status"] == "new"  # the shim's answer, unchanged
        assert len(client.shadow_mismatches) == 1
        shadow_session, differences = client.shadow_mismatches[0]
        assert shadow_session == session_id
        assert [(d.path, d.v1, d.shim) for d in differences] == [("$.result.status", "processing", "new")]
        assert v1.log[0][0].headers["x-zoom-s2t-key"] == TOKEN
    finally:
        v1.stop()


def test_shadow_needs_a_v1_service() -> None:
    with pytest.raises(ConfigurationError):
        LegacyClient(api_key=TOKEN, store=":memory:", shadow_rate=0.5)
    with pytest.raises(ConfigurationError):
        LegacyClient(api_key=TOKEN, store=":memory:", shadow_rate=2, shadow_base_url="http://127.0.0.1:1")
