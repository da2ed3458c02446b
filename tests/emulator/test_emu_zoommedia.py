"""The Zoom Media API v1/v2 in the emulator's legacy mode: create, upload, status, captions, callbacks, errors."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from emu_helpers import eventually, make_wav
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response
from zoom_helpers import OTHER_ZOOM_TOKEN, ZOOM_TOKEN, Zoom, zoom_headers

from compat.emulator import Emulator
from compat.formats import render
from compat.wire import ZOOM_ERROR_NAMES as ERROR_NAMES

ID = re.compile(r"^[0-9a-f]{26}$")


@pytest.fixture
def legacy() -> Iterator[Emulator]:
    with Emulator(v1=True, processing_delay=0.1, webhook_speed=600, allow_insecure_webhooks=True) as emulator:
        yield emulator


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    return make_wav(tmp_path / "talk.wav", seconds=3.0)


def done(emu: Emulator, zoom: Zoom, session_id: str) -> dict[str, Any]:
    emu.wait_for_status(session_id)
    answer = zoom.status(session_id)
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    assert body["done"] is True
    return body


def error(answer: requests.Response) -> tuple[int, str]:
    body = answer.json()
    assert list(body) == ["error", "error_message"], body
    assert answer.headers["Content-Type"] == "application/json"
    return answer.status_code, body["error"]


# the flow -------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_create_upload_poll_result(legacy: Emulator, wav: Path, version: str) -> None:
    zoom = Zoom(legacy, version)
    created = zoom.create(language="nl-nl", punctuation=True)
    assert created.status_code == 200
    body = created.json()
    assert list(body) == ["language", "sessionId", "zoom_id"]
    assert body["sessionId"] == body["zoom_id"] and ID.fullmatch(body["zoom_id"])
    assert body["language"] == "nl-nl"
    session_id = body["zoom_id"]

    pending = zoom.status(session_id).json()
    assert pending == {
        "language": "nl-nl",
        "sessionId": session_id,
        "zoom_id": session_id,
        "done": False,
        "results": [],
    }

    uploaded = zoom.upload(session_id, wav)
    assert uploaded.status_code == 200
    assert uploaded.json() == body  # the flat session answer: no error key means success

    result = done(legacy, zoom, session_id)
    assert list(result) == ["language", "sessionId", "zoom_id", "done", "results"]
    segments = result["results"]
    assert segments and all(list(s) == ["speaker", "text", "result"] for s in segments)
    assert segments[0]["text"][0].isupper() and segments[0]["text"].endswith(".")  # punctuation: true
    snapshot = legacy.session(session_id)
    assert snapshot.status == "done" and snapshot.filename == "talk.wav" and snapshot.language == "nl-nl"
    # word times in whole milliseconds: the emulator's seconds times 1000
    assert snapshot.results is not None
    for ours, kept in zip(segments, snapshot.results, strict=True):
        assert ours["text"] == kept["text"] and ours["speaker"] == kept["speaker"]
        for word, original in zip(ours["result"], kept["result"], strict=True):
            assert word[0] == original[0] and word[3] == original[3]
            assert isinstance(word[1], int) and isinstance(word[2], int)
            assert (word[1], word[2]) == (round(original[1] * 1000), round(original[2] * 1000))
    assert segments[-1]["result"][-1][2] <= 3000


def test_paths_with_and_without_trailing_slash_and_both_token_headers(legacy: Emulator, wav: Path) -> None:
    zoom = Zoom(legacy)
    for slash in ("/", ""):
        assert zoom.create(slash=slash).status_code == 200
    session_id = zoom.create_id()
    token_header = zoom_headers(ZOOM_TOKEN, header="X-Zoom-S2T-Token")  # the Logic App templates' header
    with open(wav, "rb") as media:
        answer = requests.post(f"{zoom.base}/{session_id}", files={"upload": media}, headers=token_header)
    assert answer.status_code == 200
    legacy.wait_for_status(session_id)
    for path in (f"{zoom.base}/{session_id}", f"{zoom.base}/{session_id}/"):
        lower = {"x-zoom-s2t-token": ZOOM_TOKEN}
        assert requests.get(path, headers=lower).json()["done"] is True
    # a session is one session whatever the version that reads it
    v1 = Zoom(legacy, "v1")
    assert v1.status(session_id).json()["done"] is True


def test_time_unit_seconds(wav: Path) -> None:
    with Emulator(v1=True, processing_delay=0.05, time_unit="s") as emu:
        zoom = Zoom(emu)
        session_id = zoom.create_id()
        zoom.upload(session_id, wav)
        segments = done(emu, zoom, session_id)["results"]
        kept = emu.session(session_id).results
        assert kept is not None
        assert [s["result"] for s in segments] == [s["result"] for s in kept]
        assert all(isinstance(w[1], float) for s in segments for w in s["result"])


def test_the_batch_v1_result_keeps_seconds_unless_told(wav: Path) -> None:
    def result_times(emu: Emulator) -> list[Any]:
        headers = {"x-zoom-s2t-key": ZOOM_TOKEN}
        base = emu.url + "/api/v3/speech-to-text/session"
        session_id = requests.post(base, json={"language": "en"}, headers=headers).json()["result"]["session_id"]
        put = {**headers, "Content-Type": "audio/wav", "x-filename": "talk.wav"}
        assert requests.put(f"{base}/{session_id}", data=wav.read_bytes(), headers=put).status_code == 200
        emu.wait_for_status(session_id)
        result = requests.get(f"{base}/{session_id}/result", headers=headers).json()
        return [w[1:3] for s in result["result"]["results"] for w in s["result"]]

    with (
        Emulator(v1=True, processing_delay=0.05) as seconds,
        Emulator(v1=True, processing_delay=0.05, time_unit="ms") as millis,
    ):
        in_seconds, in_millis = result_times(seconds), result_times(millis)
    assert in_millis == [[round(a * 1000), round(b * 1000)] for a, b in in_seconds]
    assert all(isinstance(t, float) for pair in in_seconds for t in pair)
    assert all(isinstance(t, int) for pair in in_millis for t in pair)
    assert in_seconds[-1][1] <= 3.0


def test_time_unit_is_checked() -> None:
    with pytest.raises(ValueError, match="give v1=True"):
        Emulator(time_unit="ms")
    with pytest.raises(ValueError, match="time_unit must be 's' or 'ms'"):
        Emulator(v1=True, time_unit="us")  # type: ignore[arg-type]
    options = Emulator(v1=True).options
    assert (options.time_unit_for("zoommedia"), options.time_unit_for("batch_v1")) == ("ms", "s")


@pytest.mark.scriptix_emulator(v1=True, time_unit="s")
def test_the_pytest_marker_takes_the_time_unit(scriptix_emulator: Emulator) -> None:
    assert scriptix_emulator.options.time_unit_for("zoommedia") == "s"
    assert Zoom(scriptix_emulator).create().status_code == 200


# captions -------------------------------------------------------------------------------------


@pytest.mark.parametrize("unit", ["ms", "s"])
def test_accept_text_vtt_answers_captions_whose_cues_match_the_words(wav: Path, unit: str) -> None:
    with Emulator(v1=True, processing_delay=0.05, time_unit=unit) as emu:  # type: ignore[arg-type]
        zoom = Zoom(emu)
        session_id = zoom.create_id()
        zoom.upload(session_id, wav)
        result = done(emu, zoom, session_id)
        vtt = zoom.status(session_id, Accept="text/vtt")
    assert vtt.status_code == 200
    assert vtt.headers["Content-Type"] == "text/vtt; charset=utf-8"
    assert vtt.text.startswith("WEBVTT\n\n")
    scale = 1000 if unit == "ms" else 1
    cues = re.findall(r"(\d\d):(\d\d):(\d\d)\.(\d{3}) --> (\d\d):(\d\d):(\d\d)\.(\d{3})\n(.+)\n", vtt.text)
    segments = result["results"]
    assert len(cues) == len(segments)  # 3 s of words: one cue per segment
    for cue, segment in zip(cues, segments, strict=True):
        h1, m1, s1, ms1, h2, m2, s2, ms2, text = cue
        start = int(h1) * 3600 + int(m1) * 60 + int(s1) + int(ms1) / 1000
        end = int(h2) * 3600 + int(m2) * 60 + int(s2) + int(ms2) / 1000
        words = segment["result"]
        assert start == pytest.approx(words[0][1] / scale, abs=0.0005)
        assert end == pytest.approx(words[-1][2] / scale, abs=0.0005)
        assert text == " ".join(w[0] for w in words)
    # the same text compat.formats renders from the JSON answer, in its unit
    assert vtt.text == render(result, "vtt", time_unit=unit)  # type: ignore[arg-type]


def test_srt_types_the_format_parameter_and_406(legacy: Emulator, wav: Path) -> None:
    zoom = Zoom(legacy)
    session_id = zoom.create_id()
    zoom.upload(session_id, wav)
    result = done(legacy, zoom, session_id)
    srt = render(result, "srt", time_unit="ms")
    for accept, content_type in (("text/srt", "text/srt"), ("application/x-subrip", "application/x-subrip")):
        answer = zoom.status(session_id, Accept=accept)
        assert (answer.status_code, answer.headers["Content-Type"]) == (200, f"{content_type}; charset=utf-8")
        assert answer.text == srt and answer.text.startswith("1\n00:00:00,000 --> ")
    assert zoom.status(session_id, Accept="text/*").text.startswith("WEBVTT")
    assert zoom.status(session_id, Accept="*/*").json() == result
    assert zoom.status(session_id, Accept="text/vtt;q=0.2, application/json").json() == result
    by_param = requests.get(
        f"{zoom.base}/{session_id}?format=text%2Fvtt", headers={**zoom_headers(), "Accept": "application/json"}
    )
    assert by_param.text.startswith("WEBVTT")
    for accept in ("image/png", "application/xml, text/html"):
        refused = zoom.status(session_id, Accept=accept)
        assert error(refused) == (406, "not-acceptable")
    assert error(requests.get(f"{zoom.base}/{session_id}?format=application/ttml%2Bxml", headers=zoom_headers())) == (
        406,
        "not-acceptable",
    )


def test_captions_of_a_session_not_done_are_409_and_406_comes_first(tmp_path: Path) -> None:
    wav = make_wav(tmp_path / "talk.wav")
    with Emulator(v1=True, processing_delay=30) as emu:
        zoom = Zoom(emu)
        session_id = zoom.create_id()
        assert error(zoom.status(session_id, Accept="text/vtt")) == (409, "not-done")  # new
        zoom.upload(session_id, wav)
        answer = zoom.status(session_id, Accept="text/vtt")  # uploaded, not yet done
        assert error(answer) == (409, "not-done")
        assert "not done" in answer.json()["error_message"]
        assert zoom.status(session_id).json()["done"] is False
        assert error(zoom.status("0" * 26, Accept="image/png")) == (406, "not-acceptable")
        assert error(zoom.status("0" * 26, Accept="text/vtt")) == (404, "not-found")


def test_media_that_cannot_be_transcribed(legacy: Emulator, tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_bytes(b"these are not sounds")
    zoom = Zoom(legacy)
    session_id = zoom.create_id()
    assert zoom.upload(session_id, junk).status_code == 200
    legacy.wait_for_status(session_id, "failed")
    status = zoom.status(session_id).json()
    assert status["done"] is True and status["results"] == []
    assert status["error"] == "transcription-failed" and "Unsupported media" in status["error_message"]
    assert error(zoom.status(session_id, Accept="text/vtt")) == (409, "transcription-failed")


# uploads --------------------------------------------------------------------------------------


def test_video_url_is_fetched(legacy: Emulator, wav: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/media/talk.wav").respond_with_data(wav.read_bytes(), content_type="audio/wav")
    zoom = Zoom(legacy, "v1")
    session_id = zoom.create_id()
    answer = requests.post(
        f"{zoom.base}/{session_id}", json={"video_url": httpserver.url_for("/media/talk.wav")}, headers=zoom_headers()
    )
    assert answer.status_code == 200 and answer.json()["zoom_id"] == session_id
    assert done(legacy, zoom, session_id)["results"]
    assert legacy.session(session_id).sha256 == __import__("hashlib").sha256(wav.read_bytes()).hexdigest()


def test_the_upload_streams_to_disk_as_it_arrives(tmp_path: Path) -> None:
    """The first bytes of the part are on disk while the body is still coming: nothing waits for the whole."""
    storage = tmp_path / "store"
    boundary = "zoomboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="upload"; filename="big.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    ).encode()
    first = make_wav(tmp_path / "a.wav", seconds=30.0).read_bytes()  # 480 kB
    tail = f"\r\n--{boundary}--\r\n".encode()
    gate = threading.Event()

    def body() -> Iterator[bytes]:
        yield head + first[: 256 * 1024]
        gate.wait(10)
        yield first[256 * 1024 :] + tail

    with Emulator(v1=True, processing_delay=0.05, storage_dir=storage) as emu:
        zoom = Zoom(emu)
        session_id = zoom.create_id()
        headers = {**zoom_headers(), "Content-Type": f"multipart/form-data; boundary={boundary}"}
        answers: list[requests.Response] = []
        sender = threading.Thread(
            target=lambda: answers.append(requests.post(f"{zoom.base}/{session_id}", data=body(), headers=headers))
        )
        sender.start()
        try:
            media_dir = storage / "media"
            eventually(lambda: any(p.stat().st_size >= 64 * 1024 for p in media_dir.glob(f"{session_id}-*")))
            second = zoom.upload(session_id, tmp_path / "a.wav")  # while the first is still streaming in
            assert error(second) == (400, "already-uploaded")
        finally:
            gate.set()
            sender.join(10)
        assert answers and answers[0].status_code == 200
        assert done(emu, zoom, session_id)["results"]
        snapshot = emu.session(session_id)
        assert snapshot.size == len(first) and snapshot.filename == "big.wav"


def test_other_parts_are_ignored_and_the_part_name_is_a_plain_name(legacy: Emulator, wav: Path) -> None:
    zoom = Zoom(legacy)
    session_id = zoom.create_id()
    files = {"language": (None, "en"), "upload": ("../../home/me/talk.wav", wav.read_bytes(), "audio/wav")}
    answer = requests.post(f"{zoom.base}/{session_id}", files=files, headers=zoom_headers())
    assert answer.status_code == 200
    legacy.wait_for_status(session_id)
    assert legacy.session(session_id).filename == "talk.wav"


# callbacks ------------------------------------------------------------------------------------


class Receiver:
    def __init__(self, httpserver: HTTPServer) -> None:
        self.calls: list[tuple[Request, bytes]] = []
        httpserver.expect_request("/callback").respond_with_handler(self)

    def __call__(self, request: Request) -> Response:
        self.calls.append((request, request.get_data()))
        return Response("ok")


@pytest.mark.parametrize("fmt", ["application/json", "text/vtt"])
def test_callback_when_done(legacy: Emulator, wav: Path, httpserver: HTTPServer, fmt: str) -> None:
    receiver = Receiver(httpserver)
    zoom = Zoom(legacy)
    session_id = zoom.create_id(
        callback_url=httpserver.url_for("/callback"),
        callback_method="PUT",
        callback_format=fmt,
        callback_headers=["X-Internal-ID: QW5zd2VyIG9mIGxpZmUK", "X-Zoom-Session: spoofed"],
    )
    zoom.upload(session_id, wav)
    eventually(lambda: receiver.calls, timeout=5)
    request, body = receiver.calls[0]
    assert request.method == "PUT"
    assert json.loads(body) == {"sessionId": session_id, "zoom_id": session_id}  # no results, whatever the format
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Internal-ID"] == "QW5zd2VyIG9mIGxpZmUK"
    assert request.headers["X-Zoom-Session"] == session_id and request.headers["X-Scriptix-Session"] == session_id
    assert eventually(lambda: legacy.webhooks)[0].delivered  # recorded once the receiver has answered


def test_no_callback_for_a_failed_session(legacy: Emulator, tmp_path: Path, httpserver: HTTPServer) -> None:
    receiver = Receiver(httpserver)
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"x" * 100)
    zoom = Zoom(legacy)
    session_id = zoom.create_id(callback_url=httpserver.url_for("/callback"))
    zoom.upload(session_id, junk)
    legacy.wait_for_status(session_id, "failed")
    time.sleep(0.2)
    assert receiver.calls == [] and legacy.webhooks == []


# errors ---------------------------------------------------------------------------------------


def test_legacy_routes_are_gone_in_the_v3_mode(emu: Emulator, wav: Path) -> None:
    zoom = Zoom(emu)
    assert error(zoom.create(token=None)) == (401, "unauthorized")  # auth first
    assert error(zoom.create(token="anything")) == (410, "gone")
    assert error(zoom.upload("0" * 26, wav, token="anything")) == (410, "gone")
    assert error(zoom.status("0" * 26, token="anything")) == (410, "gone")
    assert emu.sessions == {}


def test_create_errors(legacy: Emulator) -> None:
    zoom = Zoom(legacy)
    assert error(zoom.create(token=None)) == (401, "unauthorized")
    assert error(zoom.create(token="not-a-listed-token")) == (401, "unauthorized")
    assert error(zoom.create(language="xx-xx")) == (400, "invalid-language")
    for language in (None, "", 7, "en\nus"):
        assert error(zoom.create(language=language)) == (400, "invalid-language"), language
    for bad in (
        {"punctuation": "yes"},
        {"callback_url": "ftp://example.com/x"},
        {"callback_url": "https://example.com/x", "callback_method": "GET"},
        {"callback_url": "https://example.com/x", "callback_headers": "X-A: b"},
        {"callback_url": "https://example.com/x", "callback_headers": ["no colon"]},
        {"callback_url": "https://example.com/x", "callback_format": "text/srt"},
        {"callback_format": "text/vtt"},
        {"callback_method": "POST"},
    ):
        assert error(zoom.create(**bad)) == (422, "body-invalid"), bad
    headers = zoom_headers(**{"Content-Type": "application/json"})
    assert error(requests.post(zoom.base, data=b"{not json", headers=headers)) == (415, "content-invalid")
    assert error(requests.post(zoom.base, data=b'["en-us"]', headers=headers)) == (422, "body-invalid")
    form = requests.post(zoom.base, data={"language": "en-us"}, headers=zoom_headers())
    assert error(form) == (415, "content-invalid")
    assert error(requests.delete(zoom.base + "/" + "0" * 26, headers=zoom_headers())) == (405, "method-not-allowed")
    assert legacy.sessions == {}
    # unknown keys (the PHP sample's "punctation") are kept, not refused
    assert zoom.create(punctation=False).status_code == 200


def test_upload_errors(legacy: Emulator, wav: Path, tmp_path: Path) -> None:
    zoom = Zoom(legacy)
    session_id = zoom.create_id()
    url = f"{zoom.base}/{session_id}"
    assert error(zoom.upload("0" * 26, wav)) == (404, "not-found")
    other = zoom.upload(session_id, wav, token=OTHER_ZOOM_TOKEN)
    assert error(other) == (404, "not-found")  # another token's session
    raw = requests.post(url, data=wav.read_bytes(), headers=zoom_headers(**{"Content-Type": "audio/wav"}))
    assert error(raw) == (415, "content-invalid")
    no_part = requests.post(url, files={"media": ("talk.wav", b"RIFF")}, headers=zoom_headers())
    assert error(no_part) == (422, "body-invalid") and "upload" in no_part.json()["error_message"]
    field_only = requests.post(url, files={"upload": (None, "not a file")}, headers=zoom_headers())
    assert error(field_only) == (422, "body-invalid")
    empty = requests.post(url, files={"upload": ("talk.wav", b"")}, headers=zoom_headers())
    assert error(empty) == (400, "invalid-data")
    multipart = {**zoom_headers(), "Content-Type": "multipart/form-data; boundary=b"}
    cut = requests.post(
        url,
        data=b'--b\r\nContent-Disposition: form-data; name="upload"; filename="a.wav"\r\n\r\nRIFF',
        headers=multipart,
    )
    assert error(cut) == (400, "invalid-data") and "incomplete" in cut.json()["error_message"]
    no_disposition = requests.post(
        url, data=b"--b\r\nContent-Type: audio/wav\r\n\r\nRIFF\r\n--b--\r\n", headers=multipart
    )
    assert error(no_disposition) == (422, "body-invalid")
    no_boundary = requests.post(url, data=b"x", headers=zoom_headers(**{"Content-Type": "multipart/form-data"}))
    assert error(no_boundary) == (422, "body-invalid")
    for body, expected in (
        ({}, (422, "body-invalid")),
        ({"video_url": "file:///etc/passwd"}, (422, "body-invalid")),
        ({"video_url": 5}, (422, "body-invalid")),
        ({"video_url": "https://example.com/talk.wav"}, (400, "invalid-data")),  # the emulator fetches only locally
        ({"video_url": "http://127.0.0.1:1/talk.wav"}, (400, "invalid-data")),  # nothing listens there
    ):
        assert error(requests.post(url, json=body, headers=zoom_headers())) == expected, body
    assert legacy.session(session_id).status == "new"  # every refusal left the session usable
    assert list((legacy.storage_dir / "media").iterdir()) == []  # and nothing on disk
    assert zoom.upload(session_id, wav).status_code == 200
    again = zoom.upload(session_id, wav)
    assert error(again) == (400, "already-uploaded")
    by_url = requests.post(url, json={"video_url": "http://127.0.0.1:1/x.wav"}, headers=zoom_headers())
    assert error(by_url) == (400, "already-uploaded")


def test_a_too_large_upload(tmp_path: Path) -> None:
    wav = make_wav(tmp_path / "talk.wav", seconds=1.0)  # 16 kB
    with Emulator(v1=True, processing_delay=0.05, max_size=10_000) as emu:
        zoom = Zoom(emu)
        session_id = zoom.create_id()
        assert error(zoom.upload(session_id, wav)) == (413, "too-large")

        def chunked() -> Iterator[bytes]:  # no Content-Length: the limit is found while streaming
            yield b'--b\r\nContent-Disposition: form-data; name="upload"; filename="a.wav"\r\n\r\n'
            yield wav.read_bytes()
            yield b"\r\n--b--\r\n"

        headers = {**zoom_headers(), "Content-Type": "multipart/form-data; boundary=b"}
        assert error(requests.post(f"{zoom.base}/{session_id}", data=chunked(), headers=headers)) == (413, "too-large")
        assert emu.session(session_id).status == "new"
        small = make_wav(tmp_path / "small.wav", seconds=0.25)
        assert zoom.upload(session_id, small).status_code == 200


def test_status_errors(legacy: Emulator) -> None:
    zoom = Zoom(legacy)
    session_id = zoom.create_id()
    assert error(zoom.status(session_id, token=None)) == (401, "unauthorized")
    assert error(zoom.status(session_id, token="bad")) == (401, "unauthorized")
    assert error(zoom.status(session_id, token=OTHER_ZOOM_TOKEN)) == (404, "not-found")
    assert error(zoom.status("0" * 26)) == (404, "not-found")
    requests.delete(f"{legacy.url}/api/v3/speech-to-text/session/{session_id}", headers={"x-zoom-s2t-key": ZOOM_TOKEN})
    assert error(zoom.status(session_id)) == (404, "not-found")  # deleted through V3


def test_injected_faults_answer_the_zoom_shape() -> None:
    with Emulator(v1=True, faults={"rate_503": 1.0, "retry_after": 2}) as emu:
        answer = Zoom(emu).create()
        assert error(answer) == (503, "service-unavailable") and answer.headers["Retry-After"] == "2"
    assert {ERROR_NAMES[s] for s in (401, 404, 415, 422, 500)} == {
        "unauthorized",
        "not-found",
        "content-invalid",
        "body-invalid",
        "server-error",
    }


# the command line -----------------------------------------------------------------------------


def test_the_command_line_takes_the_time_unit(capsys: pytest.CaptureFixture[str]) -> None:
    from compat.cli import main

    with pytest.raises(SystemExit) as usage:
        main(["emulator", "--time-unit", "ms"])  # without --v1: refused before listening
    assert usage.value.code == 2
    assert "--time-unit is the unit of the legacy answers; give --v1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["emulator", "--v1", "--time-unit", "us"])
    assert "invalid choice: 'us'" in capsys.readouterr().err

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "compat.cli", "emulator", "--listen", f"127.0.0.1:{port}", "--v1"]
    process = subprocess.Popen([*command, "--time-unit", "s"], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        lines = process.stdout.readline() + process.stdout.readline()
        assert "word times in s (Zoom Media routes) and s (Batch V1 result)" in lines
        answer = requests.post(
            f"http://127.0.0.1:{port}/api/v1/speech-to-text/session", json={"language": "en-us"}, headers=zoom_headers()
        )
        assert answer.status_code == 200 and list(answer.json()) == ["language", "sessionId", "zoom_id"]
    finally:
        process.terminate()
        process.wait(10)
