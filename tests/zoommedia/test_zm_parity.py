"""The shim refuses bad Zoom Media input exactly as the emulator's legacy mode does: status and JSON.

One table of bad requests is sent twice: to ``Emulator(v1=True)`` (the old behaviour) and through the
gateway in front of the emulator's V3 mode (told the same tokens and languages). Each row must get the
same status and the same body from both, checked in the same order (e.g. the session before the body).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from zm_helpers import OTHER, TOKEN, TRANSCRIPTS, make_wav

from compat.emulator import DEFAULT_LANGUAGES, Emulator
from compat.gateway import GatewayServer

HOOK = "https://hooks.example.com/zoom"  # a callback both accept (HTTPS, a public name)
JSON = {"Content-Type": "application/json"}
UNKNOWN_SESSION = "0" * 26


@dataclass
class Side:
    base: str
    session_id: str = ""

    def url(self, path: str) -> str:
        return f"{self.base}/api/v2/speech-to-text/session{path}".replace("<id>", self.session_id)


Call = Callable[[Side], requests.Response]


def post(path: str, token: str | None = TOKEN, **kwargs: Any) -> Call:
    def call(side: Side) -> requests.Response:
        given = dict(kwargs)
        headers = {**({"X-Zoom-S2T-Key": token} if token else {}), **given.pop("headers", {})}
        return requests.post(side.url(path), headers=headers, timeout=30, **given)

    return call


def get(path: str, token: str | None = TOKEN, **headers: str) -> Call:
    def call(side: Side) -> requests.Response:
        return requests.get(side.url(path), headers={"X-Zoom-S2T-Key": token or "", **headers}, timeout=30)

    return call


ROWS: dict[str, Call] = {
    "language not a string": post("/", json={"language": 5}),
    "language empty": post("/", json={"language": " "}),
    "language with a control character": post("/", json={"language": "en\nus"}),
    "punctuation not a boolean": post("/", json={"language": "en-us", "punctuation": "yes"}),
    "callback_url not http": post("/", json={"language": "en-us", "callback_url": "ftp://hooks.example.com"}),
    "callback_method GET": post("/", json={"language": "en-us", "callback_url": HOOK, "callback_method": "GET"}),
    "callback_headers not a list": post(
        "/", json={"language": "en-us", "callback_url": HOOK, "callback_headers": "X: 1"}
    ),
    "callback_headers not Name: value": post(
        "/", json={"language": "en-us", "callback_url": HOOK, "callback_headers": ["no colon"]}
    ),
    "callback_headers two lines": post(
        "/", json={"language": "en-us", "callback_url": HOOK, "callback_headers": ["X-A: 1\r\nX-B: 2"]}
    ),
    "callback_url plain http": post("/", json={"language": "en-us", "callback_url": "http://hooks.example.com/z"}),
    "callback_url localhost": post("/", json={"language": "en-us", "callback_url": "https://localhost/z"}),
    "callback_url an IP address": post("/", json={"language": "en-us", "callback_url": "https://127.0.0.1:9/z"}),
    "callback_url insecure and a bad method": post(
        "/", json={"language": "en-us", "callback_url": "http://127.0.0.1/z", "callback_method": "GET"}
    ),
    "callback_method without callback_url": post("/", json={"language": "en-us", "callback_method": "PUT"}),
    "callback_format unknown": post(
        "/", json={"language": "en-us", "callback_url": HOOK, "callback_format": "text/html"}
    ),
    "callback_format without callback_url": post("/", json={"language": "en-us", "callback_format": "text/vtt"}),
    "a body that is a list": post("/", json=["en-us"]),
    "a body that is not JSON": post("/", data=b"language=en-us", headers={"Content-Type": "text/plain"}),
    "a body too deep": post("/", data=b"[" * 100 + b"]" * 100, headers=JSON),
    "no token, and a bad body": post("/", token=None, data=b"{", headers=JSON),
    "upload: neither multipart nor JSON": post("/<id>", data=b"RIFF", headers={"Content-Type": "audio/wav"}),
    "upload: multipart without a boundary": post(
        "/<id>", data=b"--x--", headers={"Content-Type": "multipart/form-data"}
    ),
    "upload: malformed multipart": post(
        "/<id>",
        data=b"--xyz\r\nno headers\r\n\r\ndata\r\n--xyz--\r\n",
        headers={"Content-Type": "multipart/form-data; boundary=xyz"},
    ),
    "upload: the part without a file name": post("/<id>", files={"upload": (None, b"RIFF")}),
    "upload: a file name with a control character": post("/<id>", files={"upload": ("a\tb.wav", b"RIFF")}),
    "upload: a file name with a C1 control character": post("/<id>", files={"upload": ("a\x85b.wav", b"RIFF")}),
    "upload: JSON without video_url": post("/<id>", json={"url": "https://x"}),
    "upload: video_url not http": post("/<id>", json={"video_url": "ftp://media.example.com/a.wav"}),
    "upload: JSON not an object": post("/<id>", json="https://media.example.com/a.wav"),
    "upload: to an unknown session, with no upload part": post(
        f"/{UNKNOWN_SESSION}", files={"media": ("a.wav", b"RIFF")}
    ),
    "upload: another token's session": post("/<id>", token=OTHER, files={"upload": ("a.wav", b"RIFF")}),
    "status: another token's session": get("/<id>", token=OTHER),
    "status: an unknown session, with an Accept nothing serves": get(f"/{UNKNOWN_SESSION}", Accept="image/png"),
    "captions: an unknown session": get(f"/{UNKNOWN_SESSION}/", Accept="text/vtt"),
    "captions by format=, not done": get("/<id>?format=text/srt"),
    "status: no token": get("/<id>", token=None),
}


@pytest.fixture(scope="module")
def sides(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Side, Side]]:
    languages = (*DEFAULT_LANGUAGES, "en-us")
    options: dict[str, Any] = {"transcripts": TRANSCRIPTS, "tokens": [TOKEN, OTHER], "languages": languages}
    store = tmp_path_factory.mktemp("parity") / "state.sqlite3"
    with (
        Emulator(v1=True, **options) as old,
        Emulator(**options) as v3,
        GatewayServer(v3.url, store=store) as gateway,
    ):
        yield Side(old.url), Side(gateway.url)


@pytest.mark.parametrize("row", list(ROWS))
def test_the_shim_refuses_as_the_old_api(sides: tuple[Side, Side], row: str) -> None:
    answers = []
    for side in sides:
        created = requests.post(
            side.url("/"), json={"language": "en-us"}, headers={"X-Zoom-S2T-Key": TOKEN}, timeout=30
        )
        side.session_id = created.json()["zoom_id"]
        answer = ROWS[row](side)
        answers.append((answer.status_code, json.loads(answer.content)))
    old, shim = answers
    assert 400 <= old[0] < 500, old
    assert shim == old


def test_a_refused_upload_leaves_the_session_usable_on_both(sides: tuple[Side, Side], tmp_path: Path) -> None:
    wav = make_wav(tmp_path / "talk.wav")
    for side in sides:
        side.session_id = requests.post(
            side.url("/"), json={"language": "en-us"}, headers={"X-Zoom-S2T-Key": TOKEN}
        ).json()["zoom_id"]
        assert ROWS["upload: malformed multipart"](side).status_code == 422
        with open(wav, "rb") as media:
            answer = requests.post(side.url("/<id>"), files={"upload": media}, headers={"X-Zoom-S2T-Key": TOKEN})
        assert answer.status_code == 200, answer.text
