"""A legacy V1 program, unchanged but for its base URL, runs through the gateway against fake V3."""

from __future__ import annotations

import io
import json
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest
import requests
from fake_v3 import FakeV3
from gateway_helpers import GATEWAY_OPTIONS, OTHER, SESSIONS, TOKEN, finish_on_second_poll, golden, wait_until
from legacy_program import V1Run, transcribe
from pytest_httpserver import HTTPServer

from compat._version import __version__
from compat.gateway import GatewayServer
from compat.media import media_filename


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    path = tmp_path / "talk.wav"
    path.write_bytes(b"RIFF" + os.urandom(300 * 1024))
    return path


def assert_golden(response: requests.Response, name: str, **values: str) -> None:
    assert json.dumps(response.json()) == golden(name, **values)
    assert response.content == golden(name, **values).encode()  # the very bytes, not just equal JSON
    assert response.headers["Content-Type"] == "application/json"


def test_the_legacy_program_runs_through_the_gateway_and_sees_the_golden_v1_answers(
    fake: FakeV3, gateway: GatewayServer, wav: Path
) -> None:
    finish_on_second_poll(fake)
    run = transcribe(gateway.url, TOKEN, wav)
    session_id = run.session_id
    assert_golden(run.created, "create_session", session_id=session_id)
    assert_golden(run.uploaded, "upload", session_id=session_id)
    assert [r.json()["result"]["status"] for r in run.polls] == ["processing", "done"]
    assert_golden(run.polls[0], "result_processing", session_id=session_id)
    assert_golden(run.polls[1], "result_done", session_id=session_id)
    assert run.deleted is not None
    assert_golden(run.deleted, "delete", session_id=session_id)
    # Underneath: V3 only, and the media went up as exactly one TUS upload with the same bytes.
    assert fake.v1_calls == []
    upload = fake.only_upload()
    assert bytes(upload.data) == wav.read_bytes()
    assert upload.metadata["session_id"] == session_id
    assert upload.metadata["filename"] == "talk.wav"
    assert fake.count("POST", "tus-create") == 1
    assert fake.sessions[session_id].deleted


def test_an_unknown_or_tricky_session_id_gets_the_golden_v1_404(gateway: GatewayServer, fake: FakeV3) -> None:
    for session_id in ("..%2F..%2Fetc%2Fpasswd", "%2E%2E", "a.b"):
        response = requests.get(f"{gateway.url}{SESSIONS}/{session_id}/result", headers={"x-zoom-s2t-key": TOKEN})
        assert response.status_code == 404, session_id
        assert json.dumps(response.json()) == golden("error_404")
        with pytest.raises(requests.HTTPError):
            response.raise_for_status()
    assert fake.requests == []


def test_the_gateway_speaks_to_v3_with_each_callers_own_token(fake: FakeV3, gateway: GatewayServer) -> None:
    created = requests.post(f"{gateway.url}{SESSIONS}", json={"language": "en"}, headers={"x-zoom-s2t-key": OTHER})
    created.raise_for_status()
    session_id = created.json()["result"]["session_id"]
    assert fake.sessions[session_id].token == OTHER
    bearer = requests.post(
        f"{gateway.url}{SESSIONS}", json={"language": "nl"}, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert fake.sessions[bearer.json()["result"]["session_id"]].token == TOKEN
    # The owner is checked locally: another token cannot touch the session; upstream is only asked,
    # with that token, whether the token is valid (401) or another account's (404), as V1 tells them apart.
    before = len(fake.requests)
    stolen = requests.get(f"{gateway.url}{SESSIONS}/{session_id}/result", headers={"x-zoom-s2t-key": TOKEN})
    assert stolen.status_code == 404
    assert fake.requests[before:] == [("GET", "session", 0)]


def test_sixteen_legacy_clients_at_once_all_succeed_with_their_own_bytes(
    fake: FakeV3, gateway: GatewayServer, tmp_path: Path
) -> None:
    finish_on_second_poll(fake)
    media: list[Path] = []
    for n in range(16):
        path = tmp_path / f"clip-{n}.wav"
        path.write_bytes(b"RIFF" + os.urandom(150 * 1024 + n))
        media.append(path)
    runs: dict[int, V1Run] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(16)

    def client(n: int) -> None:
        try:
            start.wait(10)
            runs[n] = transcribe(gateway.url, TOKEN if n % 2 else OTHER, media[n], filename=f"clip-{n}.wav")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len(runs) == 16
    assert len(fake.uploads) == 16
    uploads = {u.session_id: u for u in fake.uploads.values()}
    for n, run in runs.items():
        assert run.polls[-1].json()["result"]["status"] == "done"
        assert bytes(uploads[run.session_id].data) == media[n].read_bytes()
        assert uploads[run.session_id].metadata["filename"] == f"clip-{n}.wav"
    assert fake.v1_calls == []


def test_a_large_put_body_reaches_the_upload_as_the_request_stream_not_a_server_spool(
    fake: FakeV3, gateway: GatewayServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server hands the body over as it arrives (``wsgi.input`` cannot seek: nothing stored it
    first), bounded by its ``Content-Length``; the upload reads it to the last byte."""
    data = os.urandom(3 * 1024 * 1024 + 7)
    seen: list[Any] = []
    translator = gateway.app.translator
    original_upload = translator.upload

    def spy(token: Any, session_id: str, file: Any, **kwargs: Any) -> dict[str, Any]:
        seen.append((hasattr(file, "seek"), len(file), kwargs["content_length"]))
        return original_upload(token, session_id, file, **kwargs)

    server_spools: list[str] = []
    real_temporary_file = tempfile.TemporaryFile

    def counting(*args: Any, **kwargs: Any) -> Any:
        if not str(kwargs.get("prefix", "")).startswith("scriptix-compat-spool"):  # the upload's own, for now
            server_spools.append(str(kwargs.get("prefix")))
        return real_temporary_file(*args, **kwargs)

    monkeypatch.setattr(translator, "upload", spy)
    monkeypatch.setattr(tempfile, "TemporaryFile", counting)
    headers = {"x-zoom-s2t-key": TOKEN}
    session_id = requests.post(f"{gateway.url}{SESSIONS}", json={"language": "en"}, headers=headers).json()["result"][
        "session_id"
    ]
    response = requests.put(
        f"{gateway.url}{SESSIONS}/{session_id}",
        data=io.BytesIO(data),
        headers={**headers, "x-filename": "big.wav", "Content-Type": "audio/wav"},
    )
    assert response.status_code == 200, response.text
    assert seen == [(False, len(data), len(data))]
    assert server_spools == []
    assert bytes(fake.only_upload().data) == data


def test_health_answers_here_and_is_never_proxied(fake: FakeV3, gateway: GatewayServer) -> None:
    response = requests.get(f"{gateway.url}/_gateway/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": __version__, "upstream": fake.base_url}
    assert requests.post(f"{gateway.url}/_gateway/health").status_code == 405
    assert requests.get(f"{gateway.url}/_gateway/other").status_code == 404
    assert fake.requests == []


def test_the_access_log_has_method_path_status_and_never_the_token(
    fake: FakeV3, gateway: GatewayServer, wav: Path, caplog: pytest.LogCaptureFixture
) -> None:
    finish_on_second_poll(fake)
    caplog.set_level(logging.INFO, logger="compat.gateway.access")
    headers = {"x-zoom-s2t-key": TOKEN}
    run = transcribe(gateway.url, TOKEN, wav)
    # A proxied call with a secret in the query string, which the log leaves out.
    query_secret = f"query-secret-{os.urandom(6).hex()}"
    proxied = requests.get(f"{gateway.url}{SESSIONS}/{run.session_id}?api_key={query_secret}", headers=headers)
    assert proxied.status_code == 404  # upstream's word: the program deleted the session
    bad = requests.post(f"{gateway.url}{SESSIONS}", data="{", headers={**headers, "Content-Type": "application/json"})
    assert bad.status_code == 415

    def access_lines() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == "compat.gateway.access"]

    wait_until(lambda: len(access_lines()) >= 7)  # a line is written once its answer has gone out
    lines = access_lines()
    text = "\n".join(lines)
    assert f'127.0.0.1 "POST {SESSIONS}" 200 ' in text
    assert f'"PUT {SESSIONS}/{run.session_id}" 200 ' in text
    assert f'"GET {SESSIONS}/{run.session_id}/result" 200 ' in text
    assert f'"DELETE {SESSIONS}/{run.session_id}" 200 ' in text
    assert f'"GET {SESSIONS}/{run.session_id}" 404 ' in text  # proxied; no query string
    assert f'"POST {SESSIONS}" 415 ' in text
    assert len(lines) == 7
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("compat"))
    assert TOKEN not in ours
    assert "api_key" not in ours and query_secret not in ours


def test_a_media_source_create_is_fetched_by_the_gateway_and_answers_the_golden_shape(
    fake: FakeV3, media_server: HTTPServer, tmp_path: Path
) -> None:
    data = os.urandom(200 * 1024)
    media_server.expect_request("/x-file.mp3").respond_with_data(data, content_type="audio/mpeg")
    url = media_server.url_for("/x-file.mp3")
    with GatewayServer(
        fake.base_url, store=tmp_path / "state.sqlite3", allow_private_media=True, **GATEWAY_OPTIONS
    ) as gateway:
        created = requests.post(
            f"{gateway.url}{SESSIONS}",
            json={"keep_source": True, "media_source": url, "language": "en", "meta_data": {"key": "value"}},
            headers={"x-zoom-s2t-key": TOKEN},
        )
    session_id = created.json()["result"]["session_id"]
    assert_golden(created, "create_session_media_source", session_id=session_id, media_filename=media_filename(url))
    assert bytes(fake.only_upload().data) == data
    assert "media_source" not in fake.sessions[session_id].fields
    assert fake.v1_calls == []
