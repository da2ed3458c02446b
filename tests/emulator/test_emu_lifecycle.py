"""Session lifecycle and what the emulator "hears": media sniffing, durations, transcripts, metadata."""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path

import pytest
from emu_helpers import TOKEN, make_wav
from pytest_httpserver import HTTPServer

from compat import V3Client
from compat.emulator import Emulator, analyse_media, encode_metadata, parse_metadata
from compat.emulator.media import ESTIMATED_BYTES_PER_SECOND
from compat.emulator.metadata import MetadataError
from compat.emulator.transcript import make_results


def test_unreadable_media_fails_and_sends_no_webhook(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    junk = tmp_path / "notes.mp3"
    junk.write_bytes(b"these are not the audio bytes you are looking for" * 100)
    document = json.dumps({"webhook_url": httpserver.url_for("/hook")})
    metadata = {"language": "en", "document_type": "caption", "filename": "notes.mp3", "document": document}
    with Emulator(processing_delay=0.05, webhook_speed=6000) as emu:
        with V3Client(api_key=TOKEN, base_url=emu.url, store=":memory:") as client:
            session_id = client.upload(junk, metadata).session_id
            assert session_id
            emu.wait_for_status(session_id, "done", "failed")
            result = client.get_result(session_id)
            session = client.get_session(session_id)
        time.sleep(0.3)
        assert emu.webhooks == []
    assert result.status == "failed" and session.status == "failed"
    assert result.error and "Unsupported media" in result.error
    assert result.results is None and result.duration == 0
    assert httpserver.log == []


def test_status_goes_uploaded_processing_done(tmp_path: Path) -> None:
    media = make_wav(tmp_path / "talk.wav", seconds=0.5)
    seen: list[str] = []
    with Emulator(processing_delay=0.6) as emu, V3Client(api_key=TOKEN, base_url=emu.url, store=":memory:") as client:
        session_id = client.upload(media, {"language": "en", "document_type": "caption"}).session_id
        assert session_id
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and (not seen or seen[-1] != "done"):
            status = client.get_session(session_id).status
            if status and (not seen or seen[-1] != status):
                seen.append(status)
            time.sleep(0.03)
        session = client.get_session(session_id)
    assert seen == ["uploaded", "processing", "done"]
    assert session.duration == pytest.approx(0.5)
    assert session.media_type == "audio/wav" and session.filename is None


def wav_bytes(tmp_path: Path, seconds: float, rate: int = 8000, channels: int = 2) -> bytes:
    return make_wav(tmp_path / "x.wav", seconds=seconds, rate=rate, channels=channels).read_bytes()


@pytest.mark.parametrize(
    ("head", "kind", "fmt"),
    [
        (b"ID3\x04\x00" + b"\x00" * 40, "audio", "mpeg"),
        (b"\xff\xfb\x90\x00" + b"\x00" * 40, "audio", "mpeg"),
        (b"fLaC" + b"\x00" * 40, "audio", "flac"),
        (b"OggS" + b"\x00" * 40, "audio", "ogg"),
        (b"\x00\x00\x00\x20ftypM4A " + b"\x00" * 40, "audio", "mp4"),
        (b"\x00\x00\x00\x20ftypisom" + b"\x00" * 40, "video", "mp4"),
        (b"\x1a\x45\xdf\xa3" + b"\x00" * 40, "video", "matroska"),
        (b"RIFF\x00\x00\x00\x00AVI " + b"\x00" * 40, "video", "avi"),
    ],
)
def test_media_signatures(tmp_path: Path, head: bytes, kind: str, fmt: str) -> None:
    path = tmp_path / "media"
    path.write_bytes(head + b"\x01" * 32_000)
    info = analyse_media(path)
    assert info.readable and info.kind == kind and info.format == fmt
    assert info.duration == pytest.approx(path.stat().st_size / ESTIMATED_BYTES_PER_SECOND, abs=0.001)


def test_wav_duration_and_unreadable_files(tmp_path: Path) -> None:
    path = tmp_path / "talk.wav"
    path.write_bytes(wav_bytes(tmp_path, 2.5, rate=16000))
    info = analyse_media(path, "video/x-wav-ish")
    assert info.duration == 2.5 and info.format == "wav" and info.kind == "video"  # a declared type wins
    for content in (b"", b"plain text, no signature", b"RIFF\x04\x00\x00\x00WAVEdata\x00\x00\x00\x00"):
        path.write_bytes(content)
        broken = analyse_media(path)
        assert not broken.readable and broken.error and broken.kind is None and broken.duration == 0


def test_wav_with_extra_chunks(tmp_path: Path) -> None:
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    data = b"\x00" * 24000
    body = b"WAVE" + b"LIST" + struct.pack("<I", 3) + b"abc\x00" + b"fmt " + struct.pack("<I", 16) + fmt
    body += b"data" + struct.pack("<I", len(data)) + data
    path = tmp_path / "chunks.wav"
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    assert analyse_media(path).duration == 1.5


def test_transcripts_are_deterministic_and_within_duration() -> None:
    first = make_results(12.0, "abc")
    assert first == make_results(12.0, "abc")
    assert first != make_results(12.0, "abd")
    words = [w for segment in first for w in segment["result"]]
    assert len(words) == 30  # 2.5 words per second
    assert all(0 <= w[1] <= w[2] <= 12.0 for w in words)
    assert all(len(segment["result"]) <= 12 for segment in first)
    scripted = make_results(1.0, "abc", script="Hello  there\nworld", punctuation=True)
    assert [w[0] for w in scripted[0]["result"]] == ["Hello", "there", "world"]
    assert scripted[0]["text"] == "Hello there world."


def test_metadata_round_trip_and_errors() -> None:
    values = {"filename": "wörld.mp4", "is_confidential": "", "document": '{"a": 1}'}
    header = encode_metadata(values)
    assert "is_confidential," in header + ","
    assert parse_metadata(header) == values
    assert parse_metadata(None) == {}
    assert parse_metadata("filename d29ybGRfZG9taW5hdGlvbl9wbGFuLnBkZg==,is_confidential") == {
        "filename": "world_domination_plan.pdf",
        "is_confidential": "",
    }
    for bad in ("", " ", "a YQ==,a YQ==", "a YQ==,,b YQ==", "a YQ", "a //79", "a YQ== YQ=="):
        with pytest.raises(MetadataError):
            parse_metadata(bad)
