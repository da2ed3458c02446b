"""Helpers for the shim's Zoom Media API v1/v2 tests: goldens, a WAV, a fake V3 that finishes sessions."""

from __future__ import annotations

import threading
import wave
from pathlib import Path
from typing import Any

import requests
from fake_v3 import FakeV3
from werkzeug import Request, Response

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden" / "zoommedia"
TOKEN = "test-token"  # a token the emulator's legacy mode knows too
OTHER = "other-token"
SESSIONS = "/api/v2/speech-to-text/session"
ZOOM = "https://api.zoommedia.ai"
SCRIPTIX = "https://api.scriptix.io"
# The "done" fixtures: this script over the 1 s WAV of make_wav gives two words at fixed times.
TRANSCRIPTS = {"talk.wav": "hello world"}


def make_wav(path: Path, seconds: float = 1.0, rate: int = 8000) -> Path:
    """The WAV of ``tests/emulator/emu_helpers.make_wav`` (the golden "done" fixtures are made from it)."""
    frames = int(seconds * rate)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(bytes((i % 7) for i in range(frames * 2)))
    return path


def golden(name: str, **values: str) -> bytes:
    """A golden body, byte for byte, with ``<placeholders>`` filled in (a JSON file's last newline dropped)."""
    text = (GOLDEN / name).read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace(f"<{key}>", value)
    if name.endswith(".json"):
        text = text.removesuffix("\n")
    return text.encode("utf-8")


def assert_golden(answer: requests.Response, status: int, name: str, **values: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.content == golden(name, **values)


def zoom_headers(token: str | None = TOKEN, header: str = "X-Zoom-S2T-Key", **extra: str) -> dict[str, str]:
    found = {header: token} if token is not None else {}
    found.update(extra)
    return found


class ZoomClient:
    """Zoom Media calls made the way the old clients made them, to ``base`` (a host, with or without the shim)."""

    def __init__(self, base: str, version: str = "v2", http: Any = requests) -> None:
        self.base = f"{base}/api/{version}/speech-to-text/session"
        self.http = http

    def create(self, token: str | None = TOKEN, slash: str = "/", **body: Any) -> requests.Response:
        body.setdefault("language", "en-us")
        return self.http.post(self.base + slash, json=body, headers=zoom_headers(token), timeout=30)

    def create_id(self, **body: Any) -> str:
        answer = self.create(**body)
        assert answer.status_code == 200, answer.text
        return str(answer.json()["zoom_id"])

    def upload(
        self, session_id: str, path: Path, token: str | None = TOKEN, filename: str | None = None
    ) -> requests.Response:
        with open(path, "rb") as media:
            return self.http.post(
                f"{self.base}/{session_id}",
                files={"upload": (filename or path.name, media)},
                headers=zoom_headers(token),
                timeout=60,
            )

    def status(self, session_id: str, token: str | None = TOKEN, **headers: str) -> requests.Response:
        return self.http.get(f"{self.base}/{session_id}", headers=zoom_headers(token, **headers), timeout=30)


def finish_when_uploaded(fake: FakeV3) -> None:
    """A session of ``fake`` reads ``processing`` on its first result poll after its media is complete,
    and ``completed`` from the next one on."""
    original = fake._result
    polls: dict[str, int] = {}
    lock = threading.Lock()

    def progressing(request: Request, ident: str | None) -> Response:
        session = fake.sessions.get(ident or "")
        uploaded = any(u.session_id == ident and u.complete for u in fake.uploads.values())
        if session is not None and uploaded:
            with lock:
                polls[session.id] = polls.get(session.id, 0) + 1
                session.status = "processing" if polls[session.id] == 1 else "completed"
        return original(request, ident)

    fake._result = progressing  # type: ignore[method-assign]
