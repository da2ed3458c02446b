"""Our upload client against the real TUS peer (``@tus/server`` 2.4.5 + ``@tus/file-store``).

Every test checks the server's own record: the stored data file is compared byte
for byte, and the uploads in the server's directory are counted (a client that
starts a fresh upload instead of resuming leaves two).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from tus_server import StoredUpload, TusServer
from tusclient import client as tus_client

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
CHUNK = 256 * 1024
METADATA = {
    "language": "en",
    "document_type": "caption",
    "filename": "a.wav",
    "session_id": "sess-1",
}
REPO_ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).resolve().parent / "upload_child.py"
CHILD_TIMEOUT = 60


def make_client(server: TusServer, tmp_path: Path) -> Any:
    from compat import V3Client

    return V3Client(
        api_key="test-token",
        base_url=server.base_url,
        store=str(tmp_path / "state.sqlite3"),
        chunk_size=CHUNK,
        max_retries=8,
        backoff_base=0.05,
        timeout=5,
    )


def only_upload(server: TusServer) -> StoredUpload:
    uploads = server.uploads()
    assert len(uploads) == 1, f"expected exactly one upload on the server, found {uploads}"
    return uploads[0]


def upload_id(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def assert_stored(server: TusServer, data: bytes, result: Any) -> StoredUpload:
    stored = only_upload(server)
    assert upload_id(result.upload_url) == stored.id
    assert stored.size == len(data)
    assert stored.offset == len(data)
    assert stored.read_bytes() == data
    for key, value in METADATA.items():
        assert stored.metadata.get(key) == value, f"metadata {key!r} on the server: {stored.metadata}"
    return stored


def server_offset(server: TusServer, stored: StoredUpload) -> int:
    """HEAD the upload (waits for the server's lock, so an aborted PATCH has finished writing)."""
    response = requests.head(f"{server.endpoint}{stored.id}", headers={"Tus-Resumable": "1.0.0"}, timeout=10)
    assert response.status_code == 200, response
    return int(response.headers["Upload-Offset"])


# -- the peer itself, with plain tuspy (proves the fixture even without our client) ---------


def test_peer_with_plain_tuspy_upload_head_and_resume_after_restart(tus_server: TusServer) -> None:
    data = os.urandom(MiB + 123)
    client = tus_client.TusClient(tus_server.endpoint)
    uploader = client.uploader(file_stream=io.BytesIO(data), chunk_size=CHUNK, metadata={"filename": "ä b.wav"})
    uploader.upload_chunk()
    assert uploader.url.startswith(tus_server.endpoint)

    [stored] = tus_server.uploads()
    assert (stored.size, stored.offset) == (len(data), CHUNK)
    assert stored.metadata == {"filename": "ä b.wav"}
    assert server_offset(tus_server, stored) == CHUNK

    old_pid = tus_server.pid
    tus_server.kill()
    tus_server.restart()
    assert tus_server.pid != old_pid

    resumed = client.uploader(file_stream=io.BytesIO(data), chunk_size=CHUNK, url=uploader.url)
    assert resumed.offset == CHUNK
    resumed.upload()
    stored = only_upload(tus_server)
    assert stored.complete
    assert stored.read_bytes() == data


def test_peer_routes_and_sink(tus_server: TusServer) -> None:
    # POST to the endpoint with and without the trailing slash; 404 elsewhere.
    headers = {"Tus-Resumable": "1.0.0", "Upload-Length": "3"}
    for url in (tus_server.endpoint, tus_server.endpoint.rstrip("/")):
        response = requests.post(url, headers=headers, timeout=5)
        assert response.status_code == 201
        assert response.headers["Location"].startswith(tus_server.endpoint)
    assert len(tus_server.uploads()) == 2
    assert requests.get(f"{tus_server.base_url}/nothing", timeout=5).status_code == 404

    body = os.urandom(MiB)
    response = requests.put(tus_server.sink_url("b1"), data=io.BytesIO(body), timeout=5)
    assert response.status_code == 204
    assert response.content == b""
    assert tus_server.sink_path("b1").read_bytes() == body
    assert len(tus_server.uploads()) == 2  # a sink file is not an upload


# -- our client ------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["path", "bytesio"])
def test_upload_stores_identical_bytes_and_metadata(tus_server: TusServer, tmp_path: Path, source: str) -> None:
    data = os.urandom(3 * MiB + 4321)
    src = tmp_path / "a.wav"
    src.write_bytes(data)
    progress: list[tuple[int, int]] = []

    client = make_client(tus_server, tmp_path)
    try:
        file: Any = src if source == "path" else io.BytesIO(data)
        result = client.upload(file, metadata=METADATA, on_progress=lambda d, t: progress.append((d, t)))
    finally:
        client.close()

    assert_stored(tus_server, data, result)
    assert result.session_id == "sess-1"
    assert result.upload_url.startswith(tus_server.endpoint)
    assert progress, "on_progress was never called"
    assert progress[-1] == (len(data), len(data))
    assert all(total == len(data) for _, total in progress)
    assert [d for d, _ in progress] == sorted(d for d, _ in progress)


def test_upload_survives_server_crash_and_restart(tus_server: TusServer, tmp_path: Path) -> None:
    data = os.urandom(4 * MiB + 77)
    src = tmp_path / "a.wav"
    src.write_bytes(data)
    crash: dict[str, Any] = {}
    restarter: threading.Thread | None = None

    def restart_later() -> None:
        try:
            time.sleep(0.5)
            tus_server.restart()
        except BaseException as exc:  # reported by the assertions below
            crash["restart_error"] = exc

    def on_progress(done: int, total: int) -> None:
        nonlocal restarter
        if restarter is None and done >= CHUNK:
            crash["pid"] = tus_server.pid
            tus_server.kill()
            crash["done"] = done
            crash["stored"] = [u.offset for u in tus_server.uploads()]
            restarter = threading.Thread(target=restart_later, daemon=True)
            restarter.start()

    client = make_client(tus_server, tmp_path)
    try:
        result = client.upload(src, metadata=METADATA, on_progress=on_progress)
    finally:
        client.close()
        if restarter is not None:
            restarter.join(timeout=30)

    assert restarter is not None, "the server was never killed"
    assert "restart_error" not in crash, crash.get("restart_error")
    assert crash["done"] < len(data)
    assert len(crash["stored"]) == 1 and crash["stored"][0] < len(data)
    assert tus_server.running and tus_server.pid != crash["pid"]
    assert_stored(tus_server, data, result)
    assert result.session_id == "sess-1"


def run_child(args: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, str(CHILD), json.dumps(args)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        check=False,
    )


def test_killed_uploader_resumes_from_server_offset_in_new_process(tus_server: TusServer, tmp_path: Path) -> None:
    data = os.urandom(4 * MiB + 999)
    src = tmp_path / "a.wav"
    src.write_bytes(data)
    args = {
        "base_url": tus_server.base_url,
        "store": str(tmp_path / "state.sqlite3"),
        "file": str(src),
        "metadata": METADATA,
        "chunk_size": CHUNK,
        "report": str(tmp_path / "report.json"),
    }

    first = run_child({**args, "die_at_fraction": 0.4})
    assert first.returncode == -9, (
        f"the first uploader should have SIGKILLed itself, got {first.returncode}\n{first.stderr}"
    )
    assert not (tmp_path / "report.json").exists()

    stored = only_upload(tus_server)
    offset = server_offset(tus_server, stored)
    assert 0 < offset < len(data)
    assert only_upload(tus_server).offset == offset

    second = run_child({**args, "die_at_fraction": None})
    assert second.returncode == 0, second.stderr
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))

    stored = assert_stored(tus_server, data, _Result(report))
    assert report["session_id"] == "sess-1"
    assert report["resumed_from"] == offset
    # The rerun started at the server's offset: it sent only the rest of the file.
    first_done = report["progress"][0][0]
    assert first_done >= offset
    assert report["progress"][-1] == [len(data), len(data)]


class _Result:
    """The bits of an ``UploadResult`` that ``assert_stored`` reads, from a child's report."""

    def __init__(self, report: dict[str, Any]) -> None:
        self.upload_url: str = report["upload_url"]


def test_empty_file_upload(tus_server: TusServer, tmp_path: Path) -> None:
    src = tmp_path / "empty.wav"
    src.write_bytes(b"")
    progress: list[tuple[int, int]] = []

    client = make_client(tus_server, tmp_path)
    try:
        result = client.upload(src, metadata=METADATA, on_progress=lambda d, t: progress.append((d, t)))
    finally:
        client.close()

    stored = assert_stored(tus_server, b"", result)
    assert stored.size == 0
    assert stored.complete
    assert result.session_id == "sess-1"
    assert progress == [] or progress[-1] == (0, 0)
