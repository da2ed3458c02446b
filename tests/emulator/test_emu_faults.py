"""Injected faults: the shim's V3Client still delivers identical bytes; the admin endpoint; stalls."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests
from emu_helpers import TOKEN, auth, sha256_of, write_random

from compat import V3Client
from compat.emulator import Emulator, Faults

METADATA = {"language": "en", "document_type": "caption", "filename": "noise.bin"}


def test_v3client_upload_survives_503s_and_dropped_patches(tmp_path: Path) -> None:
    media = write_random(tmp_path / "noise.bin", 1024 * 1024 + 11)
    faults = {"rate_503": 0.3, "retry_after": 0, "drop_patch": 2, "seed": 7}
    with Emulator(faults=faults, processing_delay=0.05) as emu:
        with V3Client(
            api_key=TOKEN,
            base_url=emu.url,
            store=":memory:",
            chunk_size=128 * 1024,
            max_retries=10,
            backoff_base=0.001,
        ) as client:
            result = client.upload(media, METADATA)
        injected = emu.faults.injected
        assert injected["503"] >= 2 and injected["drop_patch"] == 2
        stored = emu.upload(result.upload_url)
        assert stored.complete and stored.session_id == result.session_id
        assert sha256_of(stored.path) == sha256_of(media)
        assert any(r.status == 503 for r in emu.requests)


def test_faults_endpoint(emu: Emulator) -> None:
    faults_url = emu.url + "/_emulator/faults"
    changed = requests.post(faults_url, json={"rate_429": 1, "retry_after": 7})
    assert changed.status_code == 200
    assert changed.json()["rate_429"] == 1.0 and changed.json()["retry_after"] == 7
    assert requests.get(faults_url).json()["rate_429"] == 1.0
    limited = requests.get(emu.url + "/api/v3/speech-to-text/session", headers=auth())
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "7"
    assert limited.json()["error"] == "rate_limit_exceeded"
    assert requests.get(emu.url + "/_emulator/health").json() == {"status": "ok"}  # never faulted
    assert requests.get(emu.url + "/_emulator/state").status_code == 200
    assert requests.post(faults_url, json={"rate_429": 2}).status_code == 400
    assert requests.post(faults_url, json={"nonsense": 1}).status_code == 400
    assert requests.post(faults_url, data="[1]").status_code == 400
    assert emu.faults.rate_429 == 1.0  # a refused change changes nothing
    requests.post(faults_url, json={"rate_429": 0, "rate_503": 1})
    unavailable = requests.get(emu.url + "/api/v3/speech-to-text/session", headers=auth())
    assert unavailable.status_code == 503 and unavailable.headers["Retry-After"] == "7"
    assert requests.get(faults_url).json()["injected"]["503"] == 1


def test_latency_and_stall(emu: Emulator) -> None:
    url = emu.url + "/api/v3/speech-to-text/session"
    emu.faults.latency = 0.3
    started = time.monotonic()
    assert requests.get(url, headers=auth()).status_code == 200
    assert time.monotonic() - started >= 0.3
    emu.faults.update(latency=0, stall=5.0, stall_requests=1)
    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        requests.get(url, headers=auth(), timeout=0.3)
    assert time.monotonic() - started < 2
    assert requests.get(url, headers=auth(), timeout=5).status_code == 200  # only the next request stalled
    emu.faults.update(stall=0.1, stall_requests=1)
    with pytest.raises(requests.ConnectionError):  # held, then closed unanswered
        requests.get(url, headers=auth(), timeout=5)
    assert emu.faults.injected["stall"] == 2


def test_fault_settings_are_checked_and_seeded() -> None:
    with pytest.raises(ValueError):
        Faults(rate_503=1.5)
    with pytest.raises(ValueError):
        Faults(drop_patch=-1)
    with pytest.raises(ValueError):
        Faults(color="red")
    faults = Faults(rate_503=0.5, seed=3)
    with pytest.raises(ValueError):
        faults.latency = -1
    first = [faults.take_status() for _ in range(50)]
    faults.seed = 3
    assert [faults.take_status() for _ in range(50)] == first
    assert {None, (503, 1)} == set(first)
    faults.reset()
    assert faults.as_dict()["rate_503"] == 0.0 and faults.seed == 3
