# ruff: noqa
"""V1 calls through httpx, urllib and a class attribute (sample for the scan tests; never imported)."""

import json
import os
import queue
import urllib.request

import httpx
import requests

BASE = os.environ.get("SCRIPTIX_URL", "https://api.scriptix.io")

DEFAULT_JOB = {"language": "nl", "media_source": "https://example.com/a.mp3"}


class Uploader:
    def __init__(self, token: str) -> None:
        self.token = token
        self.sessions_url = BASE + "/api/v3/speech-to-text/session"
        self.http = httpx.Client()

    def upload(self, session_id: str, data: bytes) -> httpx.Response:
        return self.http.put(
            "{}/{}".format(self.sessions_url, session_id), content=data, headers={"Content-Type": "audio/mpeg"}
        )

    def result(self, session_id: str) -> httpx.Response:
        return self.http.get("{}/{}/result".format(self.sessions_url, session_id))


def upload_urllib(session_id: str, data: bytes) -> object:
    request = urllib.request.Request(
        "%s/api/v3/speech-to-text/session/%s" % (BASE, session_id),
        data=data,
        method="PUT",
        headers={"x-filename": "a.mp3", "Content-Type": "audio/mpeg"},
    )
    return urllib.request.urlopen(request)


def create_urllib(payload: dict) -> object:
    body = json.dumps(payload).encode()
    request = urllib.request.Request(BASE + "/api/v3/speech-to-text/session", data=body)
    return urllib.request.urlopen(request)


def upload_anywhere(url: str, data: bytes) -> requests.Response:
    return requests.put(url, data=data, headers={"x-filename": "a.mp3"})


def upload_to_storage(url: str, data: bytes) -> requests.Response:
    return requests.put(url, data=data, headers={"Content-Type": "audio/mpeg"})


def enqueue(jobs: "queue.Queue[str]", session_id: str) -> None:
    jobs.put(session_id)
