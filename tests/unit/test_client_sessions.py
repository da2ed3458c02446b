"""V3Client's non-upload calls against pytest-httpserver: sessions, results, file info, capabilities."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from compat import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    ScriptixError,
    V3Client,
)
from compat.config import ENVIRONMENT
from compat.v3 import FileInfo, Session, SessionSummary, Transcript, TusCapabilities

TOKEN = "client-secret-token-a17c4d"
OTHER = "client-other-token-66e2b9"
SESSIONS = "/api/v3/speech-to-text/session"
FILES = "/api/v3/files/"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ENVIRONMENT.values():
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def client(httpserver: HTTPServer) -> Iterator[V3Client]:
    with V3Client(
        api_key=TOKEN,
        base_url=httpserver.url_for("").rstrip("/"),
        store=":memory:",
        backoff_base=0.001,
        backoff_max=0.002,
    ) as made:
        yield made
    made.store.close()


def only_request(httpserver: HTTPServer) -> Request:
    assert len(httpserver.log) == 1
    return httpserver.log[0][0]


# create_session -------------------------------------------------------------------------------


def test_create_session_posts_json(httpserver: HTTPServer, client: V3Client) -> None:
    httpserver.expect_request(SESSIONS, method="POST", json={"language": "en"}).respond_with_json(
        {"result": {"session_id": "sess-1", "status": "new"}}, status=201
    )
    summary = client.create_session(language="en")
    assert isinstance(summary, SessionSummary)
    assert summary.session_id == "sess-1"
    assert summary.status == "new"
    request = only_request(httpserver)
    assert request.method == "POST"
    assert request.path == SESSIONS
    assert request.mimetype == "application/json"
    assert request.get_json() == {"language": "en"}
    assert request.headers["x-zoom-s2t-key"] == TOKEN


def test_create_session_parses_v1_envelope(httpserver: HTTPServer, client: V3Client) -> None:
    httpserver.expect_request(SESSIONS, method="POST").respond_with_json(
        {"count": 1, "total_results": 1, "result": {"session_id": "sess-2", "status": "queued", "priority": 5}}
    )
    summary = client.create_session(language="nl", document_type="caption")
    assert summary.session_id == "sess-2"
    assert summary.status == "queued"
    assert summary.model_dump()["priority"] == 5
    assert only_request(httpserver).get_json() == {"language": "nl", "document_type": "caption"}


def test_create_session_parses_a_bare_object(httpserver: HTTPServer, client: V3Client) -> None:
    httpserver.expect_request(SESSIONS, method="POST").respond_with_json({"session_id": "sess-3"})
    summary = client.create_session(language="en")
    assert summary.session_id == "sess-3"
    assert summary.status is None


def test_create_session_error_is_typed(httpserver: HTTPServer, client: V3Client) -> None:
    httpserver.expect_request(SESSIONS, method="POST").respond_with_json({"error": "invalid key"}, status=401)
    with pytest.raises(AuthenticationError) as caught:
        client.create_session(language="en")
    assert caught.value.body == {"error": "invalid key"}
    assert len(httpserver.log) == 1


def test_create_session_is_retried_on_503(httpserver: HTTPServer, client: V3Client) -> None:
    answers = [
        Response("busy", status=503),
        Response('{"result": {"session_id": "sess-4"}}', status=201, content_type="application/json"),
    ]

    def handler(_request: Request) -> Response:
        return answers.pop(0)

    httpserver.expect_request(SESSIONS, method="POST").respond_with_handler(handler)
    assert client.create_session(language="en").session_id == "sess-4"
    assert len(httpserver.log) == 2


# get_session / get_result / delete_session ----------------------------------------------------


def test_get_session_keeps_unknown_fields(httpserver: HTTPServer, client: V3Client) -> None:
    body = {
        "session_id": "sess-1",
        "status": "done",
        "filename": "talk.wav",
        "duration": 12.5,
        "language": "en",
        "brand_new_field": {"nested": [1, 2]},
    }
    httpserver.expect_request(f"{SESSIONS}/sess-1", method="GET").respond_with_json({"result": body})
    session = client.get_session("sess-1")
    assert isinstance(session, Session)
    assert session.status == "done"
    assert session.duration == 12.5
    dumped = session.model_dump()
    assert dumped["brand_new_field"] == {"nested": [1, 2]}
    assert {k: v for k, v in dumped.items() if k in body} == body
    assert only_request(httpserver).headers["x-zoom-s2t-key"] == TOKEN


def test_get_result_keeps_unknown_fields(httpserver: HTTPServer, client: V3Client) -> None:
    body = {
        "count": 1,
        "total_results": 1,
        "result": {
            "session_id": "sess-1",
            "status": "done",
            "results": [
                {
                    "result": [["hello", 0.0, 0.4, 0.99]],
                    "speaker": "S1",
                    "text": "hello",
                    "sconf": 0.9,
                    "emotion": "calm",
                }
            ],
            "summary": "greeting",
        },
    }
    httpserver.expect_request(f"{SESSIONS}/sess-1/result", method="GET").respond_with_json(body)
    transcript = client.get_result("sess-1")
    assert isinstance(transcript, Transcript)
    assert transcript.status == "done"
    assert transcript.results is not None
    assert transcript.results[0].text == "hello"
    assert transcript.results[0].result == [["hello", 0.0, 0.4, 0.99]]
    dumped = transcript.model_dump()
    assert dumped["summary"] == "greeting"
    assert dumped["results"][0]["emotion"] == "calm"


def test_get_result_not_found(httpserver: HTTPServer, client: V3Client) -> None:
    httpserver.expect_request(f"{SESSIONS}/nope/result").respond_with_json({"error": "no such session"}, status=404)
    with pytest.raises(NotFoundError) as caught:
        client.get_result("nope")
    assert caught.value.status_code == 404
    assert "no such session" in str(caught.value)
    assert len(httpserver.log) == 1


@pytest.mark.parametrize(
    ("answer", "expected"),
    [({"result": "deleted"}, {"result": "deleted"}), (None, {})],
    ids=["json", "empty"],
)
def test_delete_session(httpserver: HTTPServer, client: V3Client, answer: Any, expected: dict[str, Any]) -> None:
    handler = httpserver.expect_request(f"{SESSIONS}/sess-1", method="DELETE")
    if answer is None:
        handler.respond_with_data("", status=204)
    else:
        handler.respond_with_json(answer)
    assert client.delete_session("sess-1") == expected
    assert only_request(httpserver).method == "DELETE"


@pytest.mark.parametrize("session_id", ["A1._~-z", "0", "a" * 128, "5f1c0e9a-0b7d-4c1e-9d35-5f5a9e3c2b11"])
def test_valid_session_ids_reach_the_server(httpserver: HTTPServer, client: V3Client, session_id: str) -> None:
    httpserver.expect_request(f"{SESSIONS}/{session_id}").respond_with_json({"session_id": session_id})
    assert client.get_session(session_id).session_id == session_id
    assert only_request(httpserver).path == f"{SESSIONS}/{session_id}"


INVALID_IDS: list[Any] = [
    "../x",
    "",
    "a/b",
    "a b",
    "..",
    ".hidden",
    "a?b",
    "a#b",
    "a%2Fb",
    "a" * 129,
    "abc\n",
    123,
    None,
]


@pytest.mark.parametrize("session_id", INVALID_IDS, ids=[repr(i)[:20] for i in INVALID_IDS])
@pytest.mark.parametrize("call", ["get_session", "get_result", "delete_session"])
def test_invalid_session_ids_never_reach_the_server(
    httpserver: HTTPServer, client: V3Client, call: str, session_id: Any
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        getattr(client, call)(session_id)
    assert caught.value.status_code == 400
    assert isinstance(caught.value, ValueError)
    assert httpserver.log == []


# file_info / capabilities ---------------------------------------------------------------------


def test_file_info(httpserver: HTTPServer, client: V3Client) -> None:
    upload_url = httpserver.url_for(f"{FILES}0123abcd")
    httpserver.expect_request(f"{FILES}0123abcd", method="GET").respond_with_json(
        {"session_id": "sess-9", "metadata": {"language": "en", "filename": "talk.wav"}, "offset": 42}
    )
    info = client.file_info(upload_url)
    assert isinstance(info, FileInfo)
    assert info.session_id == "sess-9"
    assert info.metadata == {"language": "en", "filename": "talk.wav"}
    assert info.model_dump()["offset"] == 42
    request = only_request(httpserver)
    assert request.headers["Accept"] == "application/json"
    assert request.headers["x-zoom-s2t-key"] == TOKEN


def test_file_info_in_envelope_without_session(httpserver: HTTPServer, client: V3Client) -> None:
    httpserver.expect_request(f"{FILES}ff").respond_with_json({"count": 1, "total_results": 1, "result": {}})
    info = client.file_info(httpserver.url_for(f"{FILES}ff"))
    assert info.session_id is None
    assert info.metadata == {}


def test_non_json_answer_is_a_scriptix_error(httpserver: HTTPServer, client: V3Client) -> None:
    httpserver.expect_request(f"{FILES}ff").respond_with_data("<html>hi</html>", status=200)
    with pytest.raises(ScriptixError) as caught:
        client.file_info(httpserver.url_for(f"{FILES}ff"))
    assert caught.value.status_code == 200
    assert "not JSON" in str(caught.value)


def test_non_json_answer_error_holds_no_token(httpserver: HTTPServer, client: V3Client) -> None:
    path = f"{FILES}{TOKEN}"
    httpserver.expect_request(path).respond_with_data("<html>hi</html>", status=200)
    with pytest.raises(ScriptixError) as caught:
        client.file_info(httpserver.url_for(path))
    assert TOKEN not in str(caught.value)
    assert TOKEN not in repr(caught.value)


def test_capabilities_parse_options_headers(httpserver: HTTPServer, client: V3Client) -> None:
    httpserver.expect_request(FILES, method="OPTIONS").respond_with_data(
        "",
        status=204,
        headers={
            "Tus-Resumable": "1.0.0",
            "Tus-Version": "1.0.0, 0.2.2",
            "Tus-Extension": "creation,creation-with-upload, termination ,expiration",
            "Tus-Max-Size": "1073741824",
        },
    )
    caps = client.capabilities()
    assert isinstance(caps, TusCapabilities)
    assert caps.versions == ["1.0.0", "0.2.2"]
    assert caps.extensions == ["creation", "creation-with-upload", "termination", "expiration"]
    assert caps.max_size == 1073741824
    request = only_request(httpserver)
    assert request.method == "OPTIONS"
    assert request.path == FILES


def test_capabilities_without_headers(httpserver: HTTPServer, client: V3Client) -> None:
    httpserver.expect_request(FILES, method="OPTIONS").respond_with_data(
        "", status=204, headers={"Tus-Max-Size": "lots"}
    )
    caps = client.capabilities()
    assert caps.versions == []
    assert caps.extensions == []
    assert caps.max_size is None


# tokens ---------------------------------------------------------------------------------------


def test_with_token_uses_the_other_token(httpserver: HTTPServer, client: V3Client) -> None:
    httpserver.expect_request(f"{SESSIONS}/sess-1").respond_with_json({"session_id": "sess-1"})
    httpserver.expect_request(FILES, method="OPTIONS").respond_with_data("", status=204)
    view = client.with_token(OTHER)
    view.get_session("sess-1")
    view.capabilities()
    client.get_session("sess-1")
    headers = [entry[0].headers.get("x-zoom-s2t-key") for entry in httpserver.log]
    assert headers == [OTHER, OTHER, TOKEN]


def test_bearer_scheme_through_the_client(httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"{SESSIONS}/s").respond_with_json({"session_id": "s"})
    with V3Client(
        api_key=TOKEN, base_url=httpserver.url_for("").rstrip("/"), store=":memory:", auth_scheme="bearer"
    ) as bearer:
        bearer.get_session("s")
    assert only_request(httpserver).headers["Authorization"] == f"Bearer {TOKEN}"


def test_client_repr_hides_token(client: V3Client) -> None:
    assert TOKEN not in repr(client)
    assert TOKEN not in str(client)
