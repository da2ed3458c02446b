"""Captions and text from a V1 result."""

from __future__ import annotations

import copy
import json

import pytest

from compat.formats import check_time_unit, convert_segments, convert_time, convert_times, cues, render

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


# time units ------------------------------------------------------------------------------------

ZOOM_MS = {
    "done": True,
    "results": [
        {"speaker": "unk", "text": "hello world", "result": [["hello", 0, 400, 0.9], ["world", 500, 1250, 0.8]]},
        {"speaker": "unk", "text": "again", "result": [["again", 61_000, 3_725_500, 0.7]]},
    ],
}


def test_render_reads_milliseconds_with_time_unit_ms() -> None:
    vtt = render(ZOOM_MS, "vtt", time_unit="ms")
    assert vtt == ("WEBVTT\n\n00:00:00.000 --> 00:00:01.250\nhello world\n\n00:01:01.000 --> 01:02:05.500\nagain\n")
    srt = render(ZOOM_MS, "srt", time_unit="ms")
    assert srt.startswith("1\n00:00:00,000 --> 00:00:01,250\nhello world\n\n2\n00:01:01,000 --> 01:02:05,500\n")
    # read as seconds, the same numbers are a thousand times longer
    assert "00:08:20.000 --> 00:20:50.000" in render(ZOOM_MS, "vtt")


def test_the_same_result_in_either_unit_gives_the_same_captions() -> None:
    for fmt in ("vtt", "srt", "txt"):
        in_seconds = convert_times(ZOOM_MS, "ms", "s")
        assert render(in_seconds, fmt, time_unit="s") == render(ZOOM_MS, fmt, time_unit="ms")  # type: ignore[arg-type]
    assert render(RESULT, "vtt") == render(convert_times(RESULT, "s", "ms"), "vtt", time_unit="ms")


def test_cue_splitting_counts_seconds_whatever_the_unit() -> None:
    # 15 words one second apart, in milliseconds: split after 7 s as with seconds, not after 7 ms
    words = [[f"w{i}", 1000 * i, 1000 * i + 500, 0.9] for i in range(15)]
    found = list(cues({"results": [{"result": words}]}, time_unit="ms"))
    assert [len(c.text.split()) for c in found] == [7, 7, 1]
    assert (found[0].start, found[0].end) == (0.0, 6.5)


def test_convert_times_seconds_to_whole_milliseconds_and_back() -> None:
    original = copy.deepcopy(RESULT)
    in_ms = convert_times(RESULT, "s", "ms")
    assert original == RESULT  # untouched
    words = in_ms["result"]["results"][0]["result"]
    assert words == [["Hello", 0, 400, 0.9], ["world.", 500, 1000, 0.8]]
    assert all(isinstance(w[1], int) and isinstance(w[2], int) for w in words)
    assert convert_times(in_ms, "ms", "s") == RESULT
    # everything but the word times is kept, in order
    assert list(in_ms["result"]) == list(RESULT["result"])
    assert in_ms["result"]["results"][1]["text"] == ""


def test_convert_times_reads_the_flat_zoom_shape_and_keeps_odd_values() -> None:
    odd = {
        "done": True,
        "results": [
            {"result": [["a", 1.0005, None, 0.5], ["b", "1.5", True, 0.5], ["c"], "not a word", ("d", 2, 3, 1)]},
            "not a segment",
            {"result": "not a list"},
        ],
    }
    converted = convert_times(odd, "s", "ms")
    assert converted["results"][0]["result"] == [
        ["a", 1000, None, 0.5],  # whole milliseconds (round half to even)
        ["b", "1.5", True, 0.5],  # not numbers: kept
        ["c"],
        "not a word",
        ("d", 2000, 3000, 1),
    ]
    assert converted["results"][1:] == odd["results"][1:]
    assert convert_time(1.2, "s", "ms") == 1200 and convert_time(1200, "ms", "s") == 1.2
    assert convert_time(7, "s", "s") == 7
    assert convert_segments(odd["results"], "ms", "ms") == odd["results"]
    assert convert_segments([{"result": [["x", 250, 750, 1]]}], "ms", "s") == [{"result": [["x", 0.25, 0.75, 1]]}]


def test_unknown_time_units_are_refused() -> None:
    for call in (
        lambda: render(RESULT, "vtt", time_unit="us"),  # type: ignore[arg-type]
        lambda: convert_times(RESULT, "s", "minutes"),  # type: ignore[arg-type]
        lambda: list(cues(RESULT, time_unit="S")),  # type: ignore[arg-type]
    ):
        with pytest.raises(ValueError, match="time_unit must be 's' or 'ms'"):
            call()
    assert check_time_unit("ms") == "ms"


def test_words_with_non_numeric_times_are_left_out_of_captions() -> None:
    broken = {"results": [{"result": [["x", "0", "1", 1], ["y", 1.0, 2.0, 1], ["z", None, 3, 1]]}]}
    assert render(broken, "vtt") == "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\ny\n"
