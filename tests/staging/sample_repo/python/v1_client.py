# ruff: noqa
"""A legacy V1 integration with requests (sample for the scan tests; never imported)."""

import requests

API = "https://api.scriptix.io"
SESSIONS = API + "/api/v3/speech-to-text/session"
TOKEN = "batch-token"


def create(language: str) -> str:
    response = requests.post(SESSIONS, json={"language": language}, headers={"x-zoom-s2t-key": TOKEN}, timeout=30)
    return response.json()["result"]["session_id"]


def create_from_url(media_url: str) -> str:
    response = requests.post(
        SESSIONS,
        json={"language": "en", "media_source": media_url, "keep_source": True},
        headers={"x-zoom-s2t-key": TOKEN},
        timeout=30,
    )
    return response.json()["result"]["session_id"]


def upload(session_id: str, path: str) -> None:
    session_url = f"{SESSIONS}/{session_id}"
    with open(path, "rb") as media:
        requests.put(
            session_url,
            data=media,
            headers={"x-zoom-s2t-key": TOKEN, "x-filename": "talk.wav", "Content-Type": "audio/wav"},
            timeout=300,
        )


def align(session_id: str, media_path: str, transcript_path: str) -> None:
    with open(media_path, "rb") as media, open(transcript_path, "rb") as transcript:
        requests.post(
            f"{SESSIONS}/{session_id}/align",
            files={"media_file": media, "transcript_file": ("t.txt", transcript, "text/plain")},
            headers={"x-zoom-s2t-key": TOKEN},
            timeout=300,
        )


def result(session_id: str) -> dict:
    return requests.get(f"{SESSIONS}/{session_id}/result", headers={"x-zoom-s2t-key": TOKEN}, timeout=30).json()


def delete(session_id: str) -> None:
    requests.delete(f"{SESSIONS}/{session_id}", headers={"x-zoom-s2t-key": TOKEN}, timeout=30)


def old_upload(session_id: str) -> None:
    # The V1 upload was PUT /api/v3/speech-to-text/session/{id} with x-filename.
    # requests.put(f"{SESSIONS}/{session_id}", data=b"", headers={"x-filename": "old.wav"})
    pass
