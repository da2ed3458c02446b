# ruff: noqa
"""V3: create a session, then a TUS upload bound to it (sample for the scan tests: no findings)."""

import requests
from tusclient import client

BASE = "https://api.scriptix.io"
HEADERS = {"x-zoom-s2t-key": "batch-token"}


def transcribe(path: str) -> dict:
    created = requests.post(f"{BASE}/api/v3/speech-to-text/session", json={"language": "en"}, headers=HEADERS)
    session_id = created.json()["result"]["session_id"]
    tus = client.TusClient(f"{BASE}/api/v3/files/", headers=HEADERS)
    uploader = tus.uploader(
        path,
        chunk_size=50 * 1024 * 1024,
        metadata={
            "session_id": session_id,
            "language": "en",
            "filename": "talk.wav",
            "filetype": "audio/wav",
            "document_type": "caption",
        },
    )
    uploader.upload()
    result = requests.get(f"{BASE}/api/v3/speech-to-text/session/{session_id}/result", headers=HEADERS)
    requests.delete(f"{BASE}/api/v3/speech-to-text/session/{session_id}", headers=HEADERS)
    return result.json()
