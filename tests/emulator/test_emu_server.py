"""Starting and stopping: free port, clean shutdown, temporary storage removed, ``serve()`` for the CLI."""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path

import pytest
import requests
from emu_helpers import TOKEN, auth

from compat.emulator import Emulator, serve


def test_start_stop_and_storage(tmp_path: Path) -> None:
    emu = Emulator()
    with pytest.raises(RuntimeError):
        _ = emu.url
    emu.start()
    url, storage = emu.url, emu.storage_dir
    assert url.startswith("http://127.0.0.1:")
    assert requests.get(url + "/_emulator/health").status_code == 200
    emu.stop()
    assert not storage.exists()
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/_emulator/health", timeout=2)
    emu.stop()  # twice is fine

    kept = tmp_path / "kept"
    with Emulator(storage_dir=kept) as emu:
        requests.post(
            emu.url + "/api/v3/files/",
            headers={
                **auth(),
                "Tus-Resumable": "1.0.0",
                "Upload-Length": "1",
                "Upload-Metadata": "language ZW4=,document_type Y2FwdGlvbg==",
            },
        )
    assert list((kept / "uploads").iterdir())


def test_stop_does_not_wait_for_stalled_requests() -> None:
    with Emulator(faults={"stall": 60, "stall_requests": 1}) as emu:
        stalled = threading.Thread(target=lambda: _quietly(emu.url), daemon=True)
        stalled.start()
        threading.Event().wait(0.2)
    stalled.join(timeout=5)
    assert not stalled.is_alive()


def _quietly(url: str) -> None:
    with contextlib.suppress(requests.RequestException):
        requests.get(url + "/api/v3/speech-to-text/session", headers=auth(), timeout=30)


def test_serve_blocks_until_stopped() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    stop = threading.Event()
    ready: list[Emulator] = []
    thread = threading.Thread(
        target=serve, kwargs={"port": port, "on_ready": ready.append, "stop": stop, "v1": True}, daemon=True
    )
    thread.start()
    for _ in range(100):
        if ready:
            break
        threading.Event().wait(0.02)
    assert ready and ready[0].url == f"http://127.0.0.1:{port}" and ready[0].options.v1
    assert requests.get(ready[0].url + "/_emulator/health").status_code == 200
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()


@pytest.mark.parametrize(
    "options",
    [
        {"processing_delay": -1},
        {"webhook_speed": 0},
        {"max_size": -5},
        {"upload_expiry": float("nan")},
        {"transcripts": {"a.wav": 3}},
        {"faults": {"rate_429": 3}},
    ],
)
def test_bad_options_are_refused(options: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Emulator(**options)  # type: ignore[arg-type]


def test_state_endpoint_summarises_without_tokens(emu: Emulator) -> None:
    requests.post(emu.url + "/api/v3/speech-to-text/session", json={"language": "de"}, headers=auth())
    state = requests.get(emu.url + "/_emulator/state")
    assert state.status_code == 200
    body = state.json()
    assert set(body) == {"sessions", "uploads", "webhooks", "faults"}
    assert body["sessions"][0]["language"] == "de" and body["sessions"][0]["status"] == "new"
    assert TOKEN not in state.text
    assert requests.get(emu.url + "/_emulator/nothing").status_code == 404
