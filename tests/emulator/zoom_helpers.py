"""Helpers for the Zoom Media API v1/v2 tests of the emulator: calls made the way the old clients made them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

from compat.emulator import Emulator

ZOOM_TOKEN = "test-token"  # one of the V1-mode default tokens
OTHER_ZOOM_TOKEN = "other-token"


def zoom_headers(token: str | None = ZOOM_TOKEN, header: str = "X-Zoom-S2T-Key", **extra: str) -> dict[str, str]:
    headers = {header: token} if token is not None else {}
    headers.update(extra)
    return headers


class Zoom:
    """One emulator's Zoom Media routes, version ``v1`` or ``v2``."""

    def __init__(self, emu: Emulator, version: str = "v2") -> None:
        self.base = f"{emu.url}/api/{version}/speech-to-text/session"

    def create(self, token: str | None = ZOOM_TOKEN, slash: str = "/", **body: Any) -> requests.Response:
        body.setdefault("language", "en-us")
        return requests.post(self.base + slash, json=body, headers=zoom_headers(token), timeout=10)

    def create_id(self, **body: Any) -> str:
        answer = self.create(**body)
        assert answer.status_code == 200, answer.text
        session_id: str = answer.json()["zoom_id"]
        return session_id

    def upload(
        self, session_id: str, path: Path, token: str | None = ZOOM_TOKEN, filename: str | None = None
    ) -> requests.Response:
        with open(path, "rb") as media:
            return requests.post(
                f"{self.base}/{session_id}",
                files={"upload": (filename or path.name, media)},
                headers=zoom_headers(token),
                timeout=10,
            )

    def status(self, session_id: str, token: str | None = ZOOM_TOKEN, **headers: str) -> requests.Response:
        return requests.get(f"{self.base}/{session_id}", headers=zoom_headers(token, **headers), timeout=10)
