"""``compat.LegacyClient`` (the V1 facade) end to end against the emulator: no V1 call reaches V3."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest
from emu_helpers import TOKEN, make_wav

from compat import LegacyClient, V3Client
from compat.emulator import Emulator

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # LegacyV1Warning at each V1 call


def wav_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as media:
        return media.getnframes() / media.getframerate()


def test_legacy_client_round_trip(tmp_path: Path) -> None:
    media = make_wav(tmp_path / "talk.wav", seconds=1.25)
    duration = wav_seconds(media)
    with Emulator(processing_delay=0.2) as emu, LegacyClient(api_key=TOKEN, base_url=emu.url, store=":memory:") as c:
        created = c.create_session("en", punctuation=True)
        session_id = created["result"]["session_id"]
        assert created["result"]["status"] == "new"
        uploaded = c.upload(session_id, media)
        assert uploaded["result"]["status"] == "uploaded"
        done = c.wait(session_id, timeout=10, poll_interval=0.05)
        result = done["result"]
        assert result["status"] == "done"
        assert result["error"] is None
        assert result["filename"] == "talk.wav"
        assert result["media_type"] == "audio"
        assert result["duration"] == pytest.approx(duration)
        words = [word for segment in result["results"] for word in segment["result"]]
        assert words
        for word, start, end, confidence in words:
            assert isinstance(word, str) and word
            assert all(isinstance(value, float) for value in (start, end, confidence))
            assert 0.0 <= start <= end <= duration
            assert 0.0 < confidence <= 1.0
        assert [w[1] for w in words] == sorted(w[1] for w in words)
        assert all(s["speaker"] == "unk" and s["channel"] == 0 for s in result["results"])
        assert result["results"][0]["text"][0].isupper()  # punctuation=True reached the emulator

        deleted = c.delete(session_id)
        assert deleted["result"]["status"] == "deleted"
        assert emu.session(session_id).deleted

        calls = [(r.method, r.path, r.status) for r in emu.requests]
        assert not [call for call in calls if call[0] == "PUT" or call[2] == 410]
        assert ("PATCH", f"/api/v3/files/{emu.session(session_id).upload_ids[0]}", 204) in calls


def test_scripted_transcript_by_file_name(tmp_path: Path) -> None:
    media = make_wav(tmp_path / "talk.wav", seconds=2.0)
    emulator = Emulator(processing_delay=0.05, transcripts={"talk.wav": "hello world"})
    with emulator as emu, LegacyClient(api_key=TOKEN, base_url=emu.url, store=":memory:") as client:
        session_id = client.create_session("en")["result"]["session_id"]
        client.upload(session_id, media)
        result = client.wait(session_id, timeout=10, poll_interval=0.05)["result"]
    assert [w[0] for s in result["results"] for w in s["result"]] == ["hello", "world"]
    assert result["results"][0]["text"] == "hello world"
    hello, world = result["results"][0]["result"]
    assert hello[1] == 0.0 and world[2] <= 2.0 and hello[2] <= world[1]


def test_same_media_gives_the_same_transcript(tmp_path: Path) -> None:
    media = make_wav(tmp_path / "a.wav", seconds=3.0)
    metadata = {"language": "en", "document_type": "caption", "filename": "a.wav"}
    with Emulator(processing_delay=0.0) as emu, V3Client(api_key=TOKEN, base_url=emu.url, store=":memory:") as c:
        first = c.upload(media, metadata).session_id
        second = c.upload(media, metadata).session_id
        assert first and second and first != second
        emu.wait_for_status(first, "done")
        emu.wait_for_status(second, "done")
        assert c.get_result(first).results == c.get_result(second).results


def test_legacy_align_goes_up_as_two_tus_uploads(tmp_path: Path) -> None:
    media = make_wav(tmp_path / "talk.wav", seconds=2.0)
    transcript = tmp_path / "talk.txt"
    transcript.write_text("we know these words")
    with Emulator(processing_delay=0.5) as emu, LegacyClient(api_key=TOKEN, base_url=emu.url, store=":memory:") as c:
        session_id = c.create_session("en")["result"]["session_id"]
        assert c.align(session_id, media, transcript)["result"]["status"] == "uploaded"
        result = c.wait(session_id, timeout=10, poll_interval=0.05)["result"]
        assert len(emu.session(session_id).upload_ids) == 2
        assert emu.session(session_id).session_mode == "align"
    assert [w[0] for s in result["results"] for w in s["result"]] == ["we", "know", "these", "words"]
