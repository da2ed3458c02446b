"""Path tricks in session ids, on every V1 route with an id (PUT, ``/align``, ``/result``, DELETE).

Encoded slashes and backslashes, dot segments (plain and encoded), double encoding, NUL, CR LF,
spaces, ``;`` parameters, and Unicode look-alikes (fullwidth letters and solidus, the division
slash, Cyrillic letters, a right-to-left override), each next to a real session id of the caller.
Through ``LegacyClient``, ``compat.install()`` and the gateway, each gets the golden V1 404 and
nothing goes upstream. In the gateway, a spelling that normalises to another caller's session
(``mine/../theirs``) reaches the owner check and gets the same 404: the other session is untouched
(the owner check's one read-only ``GET`` of it, with the caller's token, tells a valid token from
an invalid one, as V1 does).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from fake_v3 import FakeV3
from sec_helpers import LEGACY, SESSIONS, TOKEN
from werkzeug.test import Client

import compat
from compat import LegacyClient, ScriptixError
from compat.gateway import make_app

GOLDEN_404 = json.loads((Path(__file__).parents[1] / "golden" / "v1" / "error_404.json").read_text())
OTHER = "security-other-token-8d20aa"

# As a V1 caller writes them in a URL ({sid}: the caller's own session id).
ENCODED = [
    "..%2F..%2Fetc%2Fpasswd",
    "%2E%2E",
    "%2e%2e%2f{sid}",
    "..%5C..%5Cwindows",
    "{sid}%2F..%2F{sid}",
    "{sid}%252F",
    "%00",
    "{sid}%00",
    "{sid}%0D%0AX-Evil:%201",
    "{sid}%20",
    "%20{sid}",
    "{sid}%3Bx=1",
    "%EF%BD%81%EF%BD%82%EF%BD%83",  # fullwidth "abc"
    "{sid}%E2%88%95x",  # division slash
    "{sid}%EF%BC%8Fx",  # fullwidth solidus
    "%D0%B0{sid}",  # Cyrillic a
    "{sid}%E2%80%AE",  # right-to-left override
    "-{sid}",
    "a" * 129,
]
# Raw in the request target (a client like requests or curl resolves these before sending; a raw
# HTTP client or proxy may not).
RAW_ONLY = [".", "..", "{sid};x=1", "{sid}\\..\\x"]
# As Python callers pass them to LegacyClient.
DECODED = [
    "..",
    ".",
    "{sid}/../{sid}",
    "{sid}\\..",
    "{sid}\x00",
    "{sid}\n",
    "{sid}\r\nX-Evil: 1",
    "\uff41\uff42\uff43",
    "{sid}\u2215x",
    "{sid}\uff0fx",
    "\u0430{sid}",
    "{sid}\u202e",
    " {sid}",
    "{sid} ",
    "",
    "a" * 129,
]
ROUTES = ["PUT", "ALIGN", "RESULT", "DELETE"]


def multipart() -> tuple[bytes, str]:
    boundary = "sec-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="media_file"; filename="a.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\nRIFF\r\n"
        f'--{boundary}\r\nContent-Disposition: form-data; name="transcript_file"; filename="t.txt"\r\n'
        "Content-Type: text/plain\r\n\r\nhello\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    return body, f"multipart/form-data; boundary={boundary}"


def request_for(route: str, session_path: str) -> tuple[str, str, dict[str, Any]]:
    """Method, path and keyword arguments of one V1 call on ``session_path`` (an id, maybe a trick)."""
    auth = {"x-zoom-s2t-key": TOKEN}
    if route == "PUT":
        headers = {**auth, "Content-Type": "audio/wav", "x-filename": "a.wav"}
        return "PUT", f"{SESSIONS}/{session_path}", {"data": b"RIFF", "headers": headers}
    if route == "ALIGN":
        body, content_type = multipart()
        return (
            "POST",
            f"{SESSIONS}/{session_path}/align",
            {"data": body, "headers": {**auth, "Content-Type": content_type}},
        )
    if route == "RESULT":
        return "GET", f"{SESSIONS}/{session_path}/result", {"headers": auth}
    return "DELETE", f"{SESSIONS}/{session_path}", {"headers": auth}


@pytest.fixture
def gateway(fake: FakeV3) -> Iterator[tuple[Client, str]]:
    """The gateway in this process and a session the caller owns (nothing upstream after it)."""
    app = make_app(fake.base_url, store=":memory:")
    client = Client(app)
    session_id = client.post(SESSIONS, json={"language": "en"}, headers={"x-zoom-s2t-key": TOKEN}).json["result"][
        "session_id"
    ]
    fake.requests.clear()
    yield client, session_id
    app.close()


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("trick", ENCODED + RAW_ONLY)
def test_the_gateway_answers_404_to_a_trick_id_and_sends_nothing_upstream(
    fake: FakeV3, gateway: tuple[Client, str], route: str, trick: str
) -> None:
    client, session_id = gateway
    method, path, kwargs = request_for(route, trick.format(sid=session_id))
    answer = client.open(path, method=method, **kwargs)
    assert answer.status_code == 404, answer.get_data(as_text=True)
    assert answer.json == GOLDEN_404
    assert fake.requests == [] and fake.uploads == {}
    assert not fake.sessions[session_id].deleted


@pytest.mark.parametrize(
    "spelling",
    [
        "{mine}/../{theirs}",
        "{mine}/..%2F{theirs}",
        "x/%2E%2E/{theirs}",
        "/{theirs}",  # a double slash
        "{theirs}/.",
        "%7Bx%7D/../{theirs}",
    ],
)
@pytest.mark.parametrize("route", ROUTES)
def test_a_dot_segment_that_normalises_to_anothers_session_still_gets_404(
    fake: FakeV3, gateway: tuple[Client, str], route: str, spelling: str
) -> None:
    client, mine = gateway
    theirs = client.post(SESSIONS, json={"language": "en"}, headers={"x-zoom-s2t-key": OTHER}).json["result"][
        "session_id"
    ]
    fake.requests.clear()
    method, path, kwargs = request_for(route, spelling.format(mine=mine, theirs=theirs))
    answer = client.open(path, method=method, **kwargs)
    assert answer.status_code == 404, answer.get_data(as_text=True)
    assert answer.json == GOLDEN_404
    assert fake.requests == [("GET", "session", 0)] and fake.uploads == {}  # the owner check's lookup
    assert not fake.sessions[theirs].deleted


def legacy_call(client: LegacyClient, route: str) -> Callable[[str], Any]:
    calls: dict[str, Callable[[str], Any]] = {
        "PUT": lambda sid: client.upload(sid, io.BytesIO(b"RIFF"), filename="a.wav", content_type="audio/wav"),
        "ALIGN": lambda sid: client.align(sid, io.BytesIO(b"RIFF"), io.BytesIO(b"hello"), media_filename="a.wav"),
        "RESULT": client.get_result,
        "DELETE": client.delete,
    }
    return calls[route]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("trick", DECODED)
def test_legacy_client_answers_404_to_a_trick_id_and_sends_nothing_upstream(
    fake: FakeV3, route: str, trick: str
) -> None:
    client = LegacyClient(api_key=TOKEN, base_url=fake.base_url, store=":memory:")
    session_id = client.create_session("en")["result"]["session_id"]
    fake.requests.clear()
    with pytest.raises(ScriptixError) as caught:
        legacy_call(client, route)(trick.format(sid=session_id))
    assert caught.value.status_code == 404 and caught.value.body == GOLDEN_404
    assert fake.requests == [] and fake.uploads == {}


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("trick", ENCODED)
def test_install_answers_404_to_a_trick_id_and_sends_nothing_upstream(fake: FakeV3, route: str, trick: str) -> None:
    with compat.install(base_url=fake.base_url, legacy_base_url=LEGACY, store=":memory:"):
        created = requests.post(LEGACY + SESSIONS, json={"language": "en"}, headers={"x-zoom-s2t-key": TOKEN})
        session_id = created.json()["result"]["session_id"]
        fake.requests.clear()
        method, path, kwargs = request_for(route, trick.format(sid=session_id))
        answer = requests.request(method, LEGACY + path, timeout=10, **kwargs)
    assert answer.status_code == 404, answer.text
    assert answer.json() == GOLDEN_404
    assert fake.requests == [] and fake.uploads == {}
