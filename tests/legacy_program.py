"""A legacy Scriptix Batch API V1 integration, written from the V1 docs with plain ``requests``.

It knows nothing of scriptix-compat: create a session, PUT the media, poll for the result,
delete it. The interceptor tests run it unchanged against the legacy URL (``compat.install()``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import requests


@dataclass
class V1Run:
    """What the program received: every response, in order."""

    session_id: str
    created: requests.Response
    uploaded: requests.Response
    polls: list[requests.Response]
    deleted: requests.Response


def transcribe(
    base_url: str,
    token: str,
    media: str | os.PathLike[str] | bytes | IO[bytes] | Iterable[bytes],
    *,
    http: Any = requests,
    filename: str = "talk.wav",
    content_type: str = "audio/wav",
    language: str = "en",
    poll_interval: float = 0.01,
    max_polls: int = 200,
) -> V1Run:
    """Transcribe ``media`` (a path, an open binary file or an iterable of bytes) the V1 way.

    ``http`` is the ``requests`` module (the default) or a ``requests.Session``.
    """
    sessions = f"{base_url}/api/v3/speech-to-text/session"
    headers = {"x-zoom-s2t-key": token}

    created = http.post(sessions, json={"language": language}, headers=headers, timeout=30)
    created.raise_for_status()
    session_id = created.json()["result"]["session_id"]

    upload_headers = {**headers, "x-filename": filename, "Content-Type": content_type}
    if isinstance(media, str | os.PathLike):
        with open(Path(media), "rb") as body:
            uploaded = http.put(f"{sessions}/{session_id}", data=body, headers=upload_headers, timeout=600)
    else:
        uploaded = http.put(f"{sessions}/{session_id}", data=media, headers=upload_headers, timeout=600)
    uploaded.raise_for_status()

    polls: list[requests.Response] = []
    while True:
        result = http.get(f"{sessions}/{session_id}/result", headers=headers, timeout=30)
        result.raise_for_status()
        polls.append(result)
        if result.json()["result"]["status"] in ("done", "failed"):
            break
        if len(polls) >= max_polls:
            raise RuntimeError(f"session {session_id} did not finish")
        time.sleep(poll_interval)

    deleted = http.delete(f"{sessions}/{session_id}", headers=headers, timeout=30)
    deleted.raise_for_status()
    return V1Run(session_id, created, uploaded, polls, deleted)
