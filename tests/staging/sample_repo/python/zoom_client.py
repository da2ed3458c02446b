# ruff: noqa
"""A client for the Zoom Media speech-to-text API v2, in the style of the vendor's old Python SDK.

Sample for the scan tests: its base URL is a parameter, so only the file says it is Zoom Media (medium).
"""

import platform
import time
import warnings

import requests

DEFAULT_BASE = "https://api.zoommedia.ai/api/v2"
USER_AGENT = f"ZoomAPI/PythonClient {platform.system()}/{platform.python_version()}"
TIMEOUT = (5, 15)


class ZoomAPIError(Exception):
    pass


class Session:
    def __init__(self, token, language="en-us", base_url=DEFAULT_BASE, zoom_id=None):
        self.base_url = base_url
        self.headers = {"X-Zoom-S2T-Key": token, "User-Agent": USER_AGENT}
        self.language = language
        self.zoom_id = zoom_id  # re-attach to an existing session without creating one

    @property
    def session_id(self):
        warnings.warn("session_id is going to be deprecated, start using zoom_id", DeprecationWarning)
        return self.zoom_id

    def create(self, punctuation=False, callback_url=None, callback_format="application/json"):
        body = {"language": self.language, "punctuation": punctuation}
        if callback_url:
            body.update(callback_url=callback_url, callback_method="POST", callback_format=callback_format)
        response = requests.post(
            f"{self.base_url}/speech-to-text/session/", json=body, headers=self.headers, timeout=TIMEOUT
        )
        data = response.json()
        if "error" in data:
            raise ZoomAPIError(data.get("error_message") or data["error"])
        self.zoom_id = data["zoom_id"]
        return self.zoom_id

    def upload(self, path, filename=None):
        with open(path, "rb") as media:
            files = {"upload": (filename, media) if filename else media}
            response = requests.post(self._url(), files=files, headers=self.headers, timeout=TIMEOUT)
        data = response.json()
        if "err" in data or "error" in data:
            raise ZoomAPIError(data.get("err") or data.get("error"))

    def status(self):
        headers = dict(self.headers, Accept="application/json")
        return requests.get(self._url(), headers=headers, timeout=TIMEOUT).json()

    def subtitle(self):
        headers = dict(self.headers, Accept="text/vtt")
        return requests.get(self._url(), headers=headers, timeout=TIMEOUT).text

    def wait(self, interval=5):
        while True:
            status = self.status()
            if status.get("done") is True:
                return status["results"]
            time.sleep(interval)

    def _url(self):
        return f"{self.base_url}/speech-to-text/session/{self.zoom_id}"


def make_timestamp(start):
    """Convert from ms to seconds."""
    return time.strftime("%H:%M:%S", time.gmtime(start / 1000))
