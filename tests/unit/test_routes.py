"""compat.frontdoor.batch_v1 (and .http): raw V1 HTTP requests to translator calls and back."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from fake_v3 import FakeV3
from pytest_httpserver import HTTPServer

from compat import LegacyClient
from compat.frontdoor.batch_v1 import V1Call, dispatch, match, prepare
from compat.frontdoor.http import V1Request, header_text, token_of
from compat.safejson import MAX_DEPTH

TOKEN = "routes-token"
SESSIONS = "/api/v3/speech-to-text/session"


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeV3:
    return FakeV3(httpserver, token=TOKEN)


@pytest.fixture
def client(fake: FakeV3) -> LegacyClient:
    return LegacyClient(api_key=TOKEN, base_url=fake.base_url, store=":memory:", max_retries=0)


class Trickle(io.RawIOBase):
    """A stream that answers every read with one byte, as a raw socket may."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._data.read(1)


def multipart(boundary: str, parts: list[tuple[str, str | None, str | None, bytes]]) -> bytes:
    out = b""
    for name, filename, content_type, data in parts:
        out += f"--{boundary}\r\n".encode()
        disposition = f'Content-Disposition: form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += disposition.encode() + b"\r\n"
        if content_type is not None:
            out += f"Content-Type: {content_type}\r\n".encode()
        out += b"\r\n" + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def test_routes_and_tokens() -> None:
    assert match("POST", SESSIONS) == ("create_session", None)
    assert match("PUT", f"{SESSIONS}/abc") == ("upload", "abc")
    assert match("POST", f"{SESSIONS}/abc/align") == ("align", "abc")
    assert match("GET", f"{SESSIONS}/abc/result") == ("get_result", "abc")
    assert match("DELETE", f"{SESSIONS}/abc") == ("delete", "abc")
    assert match("GET", f"{SESSIONS}/abc") is None  # the V3 status call is not V1-only
    assert token_of(V1Request("GET", "/", {"Authorization": "Bearer t1"})) == "t1"
    assert token_of(V1Request("GET", "/", {"Authorization": "Basic t1"})) is None
    assert token_of(V1Request("GET", "/", {"X-Zoom-S2T-Token": "old"})) == "old"


def test_a_json_body_read_in_short_reads_is_whole(client: LegacyClient, fake: FakeV3) -> None:
    body = json.dumps({"language": "en", "punctuation": True}).encode()
    answer = dispatch(
        client.translator,
        V1Request("POST", SESSIONS, {"x-zoom-s2t-key": TOKEN, "Content-Type": "application/json"}, Trickle(body)),
    )
    assert answer.status == 200, answer.body
    assert fake.sessions[answer.body["result"]["session_id"]].fields["punctuation"] is True


def test_no_token_is_401_before_the_body_is_looked_at(client: LegacyClient, fake: FakeV3) -> None:
    answer = dispatch(client.translator, V1Request("POST", SESSIONS, {"Content-Type": "text/plain"}, io.BytesIO(b"{")))
    assert answer.status == 401
    assert fake.requests == []


def test_retry_after_of_an_upstream_429_reaches_the_caller(client: LegacyClient, fake: FakeV3) -> None:
    fake.fail("POST", "session-create", (429, {"Retry-After": "7"}))
    answer = dispatch(
        client.translator,
        V1Request(
            "POST",
            SESSIONS,
            {"x-zoom-s2t-key": TOKEN, "Content-Type": "application/json"},
            io.BytesIO(b'{"language": "en"}'),
        ),
    )
    assert answer.status == 429
    assert answer.headers["Retry-After"] == "7"
    assert "error" in answer.body


def test_align_without_a_length_with_guessed_types_and_a_text_field(
    client: LegacyClient, fake: FakeV3, tmp_path: Path
) -> None:
    session_id = client.create_session("en")["result"]["session_id"]
    body = multipart(
        "b0undary",
        [("media_file", "talk.wav", None, b"RIFF" + bytes(3000)), ("transcript_file", None, None, b"hello world")],
    )
    answer = dispatch(
        client.translator,
        V1Request(
            "POST",
            f"{SESSIONS}/{session_id}/align",
            {"x-zoom-s2t-key": TOKEN, "Content-Type": "multipart/form-data; boundary=b0undary"},  # no Content-Length
            io.BytesIO(body),
        ),
    )
    assert answer.status == 200, answer.body
    kinds = sorted(u.metadata["filetype"] for u in fake.uploads.values())
    assert kinds == ["audio/x-wav", "text/plain"]
    transcript = next(u for u in fake.uploads.values() if u.metadata["filetype"] == "text/plain")
    assert bytes(transcript.data) == b"hello world"


def test_media_source_that_is_not_media_is_415(fake: FakeV3) -> None:
    media = HTTPServer(host="127.0.0.2", port=0)
    media.expect_request("/page").respond_with_data("<html></html>", content_type="text/html")
    media.expect_request("/blob").respond_with_data(b"ID3" + bytes(100), content_type="application/octet-stream")
    media.start()
    try:
        client = LegacyClient(api_key=TOKEN, base_url=fake.base_url, store=":memory:", allow_private_media=True)
        with pytest.raises(Exception) as caught:
            client.create_session("en", media_source=media.url_for("/page"))
        assert getattr(caught.value, "status_code", None) == 415
        assert fake.sessions == {}
        answer = client.create_session("en", media_source=media.url_for("/blob"))  # generic type: accepted
        assert answer["result"]["status"] == "uploaded"
        assert fake.only_upload().metadata["filetype"] == "application/octet-stream"
    finally:
        media.stop()


# Header values as the caller meant them; one read of a create body ---------------------------------

HEADER_TEXT = [
    ("talk.wav", "talk.wav"),  # ASCII, as is
    ("日本 talk.wav".encode(), "日本 talk.wav"),  # UTF-8 bytes (requests)
    ("日本 talk.wav".encode().decode("latin-1"), "日本 talk.wav"),  # the same bytes as WSGI hands them over
    ("café.wav".encode("latin-1"), "café.wav"),  # not UTF-8: ISO-8859-1
    ("café.wav", "café.wav"),  # a Latin-1 str (requests sends it as ISO-8859-1 bytes)
    ("日本 talk.wav", "日本 talk.wav"),  # text beyond Latin-1: already text
    (b"\xc3", "\xc3"),  # a cut UTF-8 sequence: ISO-8859-1
]


@pytest.mark.parametrize(("value", "meant"), HEADER_TEXT)
def test_header_text_reads_valid_utf8_bytes_as_utf8(value: str | bytes, meant: str) -> None:
    assert header_text(value) == meant
    assert V1Request("PUT", SESSIONS + "/x", {"X-Filename": value}).header("x-filename") == meant


def test_prepare_parses_a_create_body_once_and_names_media_source_calls() -> None:
    def call(body: bytes, content_type: str = "application/json") -> V1Call:
        headers = {"x-zoom-s2t-key": TOKEN, "content-type": content_type}
        return prepare(V1Request("POST", SESSIONS, headers, io.BytesIO(body)))

    plain = call(b'{"language": "en"}')
    assert (plain.body, plain.refusal, plain.staging_name) == ({"language": "en"}, None, "create_session")
    fetching = call(b'{"language": "en", "media_source": "https://m.example/a.mp3"}')
    assert fetching.staging_name == "media_source"
    for refused, status in ((call(b"[" * 100), 422), (call(b"{"), 415), (call(b"{}", "text/plain"), 415)):
        assert refused.body is None and refused.staging_name == "create_session"
        assert refused.refusal is not None and refused.refusal.status_code == status
    upload = prepare(V1Request("PUT", SESSIONS + "/abc", {}, io.BytesIO(b"RIFF")))
    assert (upload.operation, upload.session_id, upload.body, upload.staging_name) == ("upload", "abc", None, "upload")
    with pytest.raises(ValueError):
        prepare(V1Request("GET", SESSIONS + "/abc", {}))


def test_a_refused_create_body_is_answered_after_the_token_check(client: LegacyClient, fake: FakeV3) -> None:
    deep = prepare(V1Request("POST", SESSIONS, {"content-type": "application/json"}, io.BytesIO(b"[" * 100)))
    assert dispatch(client.translator, deep).status == 401
    authorized = V1Request("POST", SESSIONS, {"x-zoom-s2t-key": TOKEN, "content-type": "application/json"})
    authorized.body = io.BytesIO(b"[" * 100)
    answer = dispatch(client.translator, authorized)
    assert answer.status == 422 and f"nested more than {MAX_DEPTH} levels" in answer.body["error"]
    assert fake.requests == []
