"""Sessions: auth, creation rules, the session object, results, delete, token scoping."""

from __future__ import annotations

import re
import time

import pytest
import requests
from emu_helpers import OTHER_TOKEN, TOKEN, auth

from compat.emulator import Emulator
from compat.emulator.app import UNAUTHORIZED

SESSION_PATH = "/api/v3/speech-to-text/session"


def create(emu: Emulator, token: str = TOKEN, **body: object) -> requests.Response:
    return requests.post(emu.url + SESSION_PATH, json={"language": "en", **body}, headers=auth(token))


def test_missing_token_is_401_and_bearer_works(emu: Emulator) -> None:
    anonymous = requests.post(emu.url + SESSION_PATH, json={"language": "en"})
    assert anonymous.status_code == 401
    assert anonymous.json() == {"error": UNAUTHORIZED}
    empty = requests.post(emu.url + SESSION_PATH, json={"language": "en"}, headers={"x-zoom-s2t-key": ""})
    assert empty.status_code == 401
    bearer = requests.post(emu.url + SESSION_PATH, json={"language": "en"}, headers={"Authorization": "Bearer b"})
    assert bearer.status_code == 200
    session_id = bearer.json()["result"]["session_id"]
    assert requests.get(f"{emu.url}{SESSION_PATH}/{session_id}", headers=auth("b")).status_code == 200


def test_create_answers_the_v3_shape(emu: Emulator) -> None:
    answer = create(emu)
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"result"}
    assert body["result"]["status"] == "new"
    assert re.fullmatch(r"[0-9a-f]{26}", body["result"]["session_id"])
    assert requests.post(emu.url + SESSION_PATH + "/", json={"language": "en"}, headers=auth()).status_code == 200


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"json": {}}, 400),
        ({"json": {"language": ""}}, 400),
        ({"json": {"language": 7}}, 400),
        ({"data": "language=en", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 415),
        ({"data": "{not json", "headers": {"Content-Type": "application/json"}}, 415),
        ({"json": ["en"]}, 422),
        ({"json": {"language": "en", "punctuation": "yes"}}, 422),
        ({"json": {"language": "en", "webhook_url": "http://127.0.0.1/x", "webhook_method": "GET"}}, 422),
        ({"json": {"language": "en", "webhook_headers": ["X-A: b"]}}, 422),  # requires webhook_url
        ({"json": {"language": "en", "webhook_url": "ftp://host/x"}}, 422),
        ({"json": {"language": "en", "document": "caption"}}, 422),
    ],
)
def test_create_validation(emu: Emulator, kwargs: dict[str, object], status: int) -> None:
    headers = {**auth(), **kwargs.pop("headers", {})}  # type: ignore[dict-item]
    answer = requests.post(emu.url + SESSION_PATH, headers=headers, **kwargs)  # type: ignore[arg-type]
    assert answer.status_code == status
    assert isinstance(answer.json()["error"], str)
    assert emu.sessions == {}


def test_session_object_and_result_of_a_session_without_media(emu: Emulator) -> None:
    session_id = create(emu, punctuation=True).json()["result"]["session_id"]
    time.sleep(emu.options.processing_delay * 1.5)
    session = requests.get(f"{emu.url}{SESSION_PATH}/{session_id}", headers=auth()).json()
    assert session["session_id"] == session_id
    assert session["status"] == "new"  # never given media: stays new
    assert session["language"] == "en"
    assert session["duration"] == 0 and session["error"] is None and session["filename"] is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", session["created_at"])
    assert {"media_type", "media_url", "finished_at", "session_mode"} <= set(session)
    result = requests.get(f"{emu.url}{SESSION_PATH}/{session_id}/result", headers=auth()).json()
    assert result == {
        "count": 1,
        "total_results": 1,
        "result": {
            "duration": 0,
            "error": None,
            "filename": None,
            "media_type": None,
            "media_url": None,
            "session_id": session_id,
            "status": "new",
        },
    }


def test_delete_and_token_scoping(emu: Emulator) -> None:
    session_id = create(emu).json()["result"]["session_id"]
    url = f"{emu.url}{SESSION_PATH}/{session_id}"
    for method, suffix in (("GET", ""), ("GET", "/result"), ("DELETE", "")):
        foreign = requests.request(method, url + suffix, headers=auth(OTHER_TOKEN))
        assert foreign.status_code == 404
        assert "not found" in foreign.json()["error"]
    deleted = requests.delete(url, headers=auth())
    assert deleted.status_code == 200
    assert deleted.json() == {"result": {"session_id": session_id, "status": "deleted"}}
    again = requests.delete(url, headers=auth())
    assert again.status_code == 400
    assert again.json() == {"error": "The transcript is already marked as removed"}
    assert requests.get(url, headers=auth()).status_code == 404
    assert requests.get(url + "/result", headers=auth()).status_code == 404
    assert requests.delete(f"{emu.url}{SESSION_PATH}/ffffffffffffffffffffffffff", headers=auth()).status_code == 404
    assert emu.session(session_id).deleted


def test_list_sessions_shows_only_the_callers(emu: Emulator) -> None:
    mine = [create(emu).json()["result"]["session_id"] for _ in range(3)]
    create(emu, OTHER_TOKEN)
    listed = requests.get(emu.url + SESSION_PATH, headers=auth(), params={"limit": 2}).json()
    assert listed["total_results"] == 3 and listed["count"] == 2
    assert [s["session_id"] for s in listed["result"]] == mine[::-1][:2]


def test_unknown_path_and_method(emu: Emulator) -> None:
    assert requests.get(emu.url + "/api/v3/nothing", headers=auth()).status_code == 404
    not_allowed = requests.patch(emu.url + SESSION_PATH, headers=auth())
    assert not_allowed.status_code == 405
    assert "POST" in not_allowed.headers["Allow"]
