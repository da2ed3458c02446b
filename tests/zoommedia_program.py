"""A legacy Zoom Media API v1/v2 integration, written from ``shared/research/zoommedia.md`` with plain ``requests``.

It knows nothing of scriptix-compat: create a session with a callback, upload the media as the
multipart part ``upload`` (or name it by ``video_url``), poll ``done``, read ``results``, and fetch the
captions with ``Accept: text/vtt``, the way the vendor's ``pyzoomapi``, the Node sample and the Logic
App templates do. The shim's tests run it unchanged against ``https://api.zoommedia.ai`` with
``compat.install()``, and against the gateway with only the host changed.
"""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ZOOM_MEDIA = "https://api.zoommedia.ai"
TIMEOUT = (5, 15)  # pyzoomapi's


@dataclass
class ZoomRun:
    """What the program received: every response, in order, and what it read from them."""

    zoom_id: str
    created: requests.Response
    uploaded: requests.Response
    polls: list[requests.Response] = field(default_factory=list)
    captions: requests.Response | None = None
    transcript: list[dict[str, Any]] = field(default_factory=list)

    @property
    def fulltext(self) -> str:
        return " ".join(result["text"] for result in self.transcript)


def headers(token: str, header: str = "X-Zoom-S2T-Key") -> dict[str, str]:
    return {
        header: token,
        "User-Agent": f"ZoomAPI/PythonClient {platform.system()}/{platform.python_version()}",
    }


def transcribe(
    base_url: str,
    token: str,
    *,
    media: str | os.PathLike[str] | None = None,
    video_url: str | None = None,
    version: str = "v2",
    language: str = "en-us",
    callback_url: str | None = None,
    callback_headers: list[str] | None = None,
    token_header: str = "X-Zoom-S2T-Key",
    http: Any = requests,
    poll_interval: float = 0.02,
    max_polls: int = 500,
) -> ZoomRun:
    """Transcribe a file (``media``) or a URL (``video_url``) the Zoom Media way; captions too."""
    sessions = f"{base_url}/api/{version}/speech-to-text/session"
    auth = headers(token, token_header)

    body: dict[str, Any] = {"language": language, "punctuation": False}
    if callback_url is not None:
        body.update(
            callback_url=callback_url,
            callback_method="POST",
            callback_format="text/vtt",
            callback_headers=callback_headers or [],
        )
    created = http.post(f"{sessions}/", json=body, headers={**auth, "Accept": "application/json"}, timeout=TIMEOUT)
    answer = created.json()
    if "error" in answer:
        raise RuntimeError(answer.get("error_message") or answer["error"])
    zoom_id = answer["zoom_id"]

    if video_url is not None:
        uploaded = http.post(f"{sessions}/{zoom_id}", json={"video_url": video_url}, headers=auth, timeout=TIMEOUT)
    else:
        assert media is not None
        with open(Path(media), "rb") as file:
            uploaded = http.post(f"{sessions}/{zoom_id}", files={"upload": file}, headers=auth, timeout=TIMEOUT)
    result = uploaded.json()
    if "error" in result or "err" in result:
        raise RuntimeError(str(result))
    run = ZoomRun(zoom_id, created, uploaded)

    while True:
        status = http.get(f"{sessions}/{zoom_id}", headers={**auth, "Accept": "application/json"}, timeout=TIMEOUT)
        run.polls.append(status)
        state = status.json()
        if state.get("done") is True:
            run.transcript = state["results"]
            break
        if len(run.polls) >= max_polls:
            raise RuntimeError(f"session {zoom_id} is not done")
        time.sleep(poll_interval)

    run.captions = http.get(f"{sessions}/{zoom_id}/", headers={**auth, "Accept": "text/vtt"}, timeout=TIMEOUT)
    return run


def make_timestamp(milliseconds: float) -> str:
    """As ``pyzoomapi`` prints a word's start: "Convert from ms to seconds"."""
    seconds = milliseconds / 1000
    return f"{int(seconds // 3600):02d}:{int(seconds % 3600 // 60):02d}:{seconds % 60:06.3f}"
