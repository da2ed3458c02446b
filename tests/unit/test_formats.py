"""Captions and text from a V1 result."""

from __future__ import annotations

import json

import pytest

from compat.formats import cues, render

RESULT = {
    "count": 1,
    "total_results": 1,
    "result": {
        "status": "done",
        "session_id": "s",
        "results": [
            {"result": [["Hello", 0.0, 0.4, 0.9], ["world.", 0.5, 1.0, 0.8]], "speaker": "unk", "text": "Hello world."},
            {"result": [[f"w{i}", 2.0 + i, 2.5 + i, 0.9] for i in range(15)], "text": ""},
        ],
    },
}


def test_cues_follow_segments_and_split_long_ones() -> None:
    found = list(cues(RESULT, max_cue_seconds=7.0, max_cue_words=12))
    assert found[0].text == "Hello world."
    assert (found[0].start, found[0].end) == (0.0, 1.0)
    # 15 words one second apart: split by duration (7 s) before the 12-word limit
    assert [len(c.text.split()) for c in found[1:]] == [7, 7, 1]
    assert all(c.end - c.start <= 7.0 for c in found)


def test_srt_and_vtt_timestamps() -> None:
    srt = render(RESULT, "srt")
    assert srt.startswith("1\n00:00:00,000 --> 00:00:01,000\nHello world.\n")
    assert "\n2\n00:00:02,000 --> 00:00:08,500\n" in srt
    vtt = render(RESULT, "vtt")
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nHello world.\n")


def test_txt_uses_segment_text_or_words() -> None:
    lines = render(RESULT, "txt").splitlines()
    assert lines[0] == "Hello world."
    assert lines[1].startswith("w0 w1 w2")


def test_json_round_trips() -> None:
    assert json.loads(render(RESULT, "json")) == RESULT


def test_long_timestamps_and_unknown_format() -> None:
    long = {"result": {"results": [{"result": [["x", 3725.5, 3726.25, 1.0]]}]}}
    assert "01:02:05,500 --> 01:02:06,250" in render(long, "srt")
    with pytest.raises(ValueError):
        render(RESULT, "pdf")  # type: ignore[arg-type]
