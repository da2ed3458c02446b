# ruff: noqa
"""Turn a Zoom Media result into WebVTT (word times in milliseconds). Sample for the scan tests."""

import json
import sys

import requests

SESSIONS = "https://api.zoommedia.ai/api/v2/speech-to-text/session"


def fetch(session_id, token):
    answer = requests.get(f"{SESSIONS}/{session_id}", headers={"X-Zoom-S2T-Key": token})
    return answer.json()


def stamp(ms):
    hours, rest = divmod(int(ms), 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def to_vtt(result):
    lines = ["WEBVTT", ""]
    for segment in result["results"]:
        words = segment["result"]
        lines += [f"{stamp(words[0][1])} --> {stamp(words[-1][2])}", segment["text"], ""]
    return "\n".join(lines)


if __name__ == "__main__":
    source = sys.argv[1]
    result = json.load(open(source)) if source.endswith(".json") else fetch(source, sys.argv[2])
    print(to_vtt(result))
