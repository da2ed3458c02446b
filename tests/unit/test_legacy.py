"""LegacyClient: V1 calls in, V1 JSON out, V3 (a scripted fake) underneath."""

from __future__ import annotations

import io
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from fake_v3 import FakeV3
from fleet_processes import serve_held_media
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from compat import AuthenticationError, LegacyClient, NotFoundError, ScriptixError, WaitTimeoutError
from compat.media import AddressPolicy, media_filename

TOKEN = "legacy-token"
OTHER = "someone-else"
GOLDEN = Path(__file__).parents[1] / "golden" / "v1"


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeV3:
    return FakeV3(httpserver, token=TOKEN)


def legacy(fake: FakeV3, token: str = TOKEN, **options: Any) -> LegacyClient:
    settings: dict[str, Any] = {"chunk_size": 64 * 1024, "backoff_base": 0.001, "store": ":memory:"}
    settings.update(options)
    return LegacyClient(api_key=token, base_url=fake.base_url, **settings)


def golden(name: str, **values: str) -> str:
    text = (GOLDEN / f"{name}.json").read_text().strip()
    for key, value in values.items():
        text = text.replace(f"<{key}>", value)
    return json.dumps(json.loads(text))


def assert_golden(answer: dict[str, Any], name: str, **values: str) -> None:
    assert json.dumps(answer) == golden(name, **values)


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    path = tmp_path / "talk.wav"
    path.write_bytes(b"RIFF" + os.urandom(200 * 1024))
    return path


# Golden V1 shapes ---------------------------------------------------------------------------


def test_every_v1_answer_matches_its_golden_fixture(fake: FakeV3, wav: Path) -> None:
    client = legacy(fake)
    created = client.create_session("en")
    session_id = created["result"]["session_id"]
    assert_golden(created, "create_session", session_id=session_id)
    assert_golden(client.upload(session_id, wav), "upload", session_id=session_id)
    fake.sessions[session_id].status = "processing"
    assert_golden(client.get_result(session_id), "result_processing", session_id=session_id)
    fake.sessions[session_id].status = "completed"
    assert_golden(client.get_result(session_id), "result_done", session_id=session_id)
    assert_golden(client.delete(session_id), "delete", session_id=session_id)
    with pytest.raises(NotFoundError) as caught:
        legacy(fake, token=TOKEN).get_result("0123456789abcdef")
    assert json.dumps(caught.value.body) == json.dumps({"error": "The requested session was not found"})
    with pytest.raises(NotFoundError) as local:
        client.get_result("../etc/passwd")
    assert json.dumps(local.value.body) == golden("error_404")
    assert fake.v1_calls == []


def test_media_source_filename_is_the_seed_example() -> None:
    assert media_filename("https://x-filelocation.com/x-file.mp3") == "https---x-filelocation.com-x-file.mp3"


# Upload ---------------------------------------------------------------------------------------


def test_upload_is_one_tus_upload_bound_to_the_session_with_the_v1_options(fake: FakeV3, wav: Path) -> None:
    client = legacy(fake)
    created = client.create_session(
        "en",
        punctuation=True,
        keep_source=True,
        webhook_url="https://hooks.example.com/done",
        webhook_method="PUT",
        webhook_headers=["X-Secret: abc"],
        document={"document_type": "document", "max_line_length": 42},
        meta_data={"order": "17"},
    )
    session_id = created["result"]["session_id"]
    answer = client.upload(session_id, wav)
    assert answer["result"]["status"] == "uploaded"
    upload = fake.only_upload()
    assert bytes(upload.data) == wav.read_bytes()
    metadata = upload.metadata
    assert metadata["session_id"] == session_id
    assert metadata["language"] == "en"
    assert metadata["document_type"] == "document"
    assert metadata["filetype"] == "audio/x-wav" or metadata["filetype"].startswith("audio/")
    assert metadata["filename"] == "talk.wav"
    assert (metadata["punctuation"], metadata["keep_source"], metadata["multichannel"]) == ("true", "true", "false")
    assert json.loads(metadata["document"]) == {
        "document_type": "document",
        "max_line_length": 42,
        "webhook_url": "https://hooks.example.com/done",
        "webhook_method": "PUT",
        "webhook_headers": ["X-Secret: abc"],
    }
    upstream_create = fake.sessions[session_id].fields
    assert upstream_create["webhook_url"] == "https://hooks.example.com/done"
    assert upstream_create["webhook_method"] == "PUT"
    assert upstream_create["webhook_headers"] == ["X-Secret: abc"]
    assert upstream_create["meta_data"] == {"order": "17"}
    assert "media_source" not in upstream_create
    assert fake.v1_calls == []


def test_default_document_type_is_caption_and_stream_uploads_work(fake: FakeV3) -> None:
    client = legacy(fake)
    session_id = client.create_session("nl")["result"]["session_id"]
    data = os.urandom(70_000)
    client.upload(session_id, io.BytesIO(data), filename="clip.mp4", content_type="video/mp4")
    upload = fake.only_upload()
    assert upload.metadata["document_type"] == "caption"
    assert upload.metadata["filetype"] == "video/mp4"
    assert bytes(upload.data) == data
    assert "document" not in upload.metadata


def test_a_second_upload_of_other_media_to_the_same_session_is_refused(fake: FakeV3, wav: Path, tmp_path: Path) -> None:
    client = legacy(fake)
    session_id = client.create_session("en")["result"]["session_id"]
    client.upload(session_id, wav)
    other = tmp_path / "other.wav"
    other.write_bytes(b"RIFF" + bytes(wav.stat().st_size - 4))
    with pytest.raises(ScriptixError) as caught:
        client.upload(session_id, other)
    assert caught.value.status_code == 400
    assert caught.value.body == {"error": "Invalid data: media was already uploaded for this session"}
    assert len(fake.uploads) == 1


def test_the_same_media_again_after_the_upload_finished_answers_200_and_sends_nothing(fake: FakeV3, wav: Path) -> None:
    client = legacy(fake)
    session_id = client.create_session("en")["result"]["session_id"]
    first = client.upload(session_id, wav)
    patched = fake.count("PATCH", "tus-upload")
    again = client.upload(session_id, wav)  # a retry whose first answer was lost
    assert again == first
    assert len(fake.uploads) == 1 and fake.count("PATCH", "tus-upload") == patched


def test_upload_through_legacy_client_resumes_after_a_failed_run(fake: FakeV3, wav: Path, tmp_path: Path) -> None:
    store = str(tmp_path / "state.sqlite3")
    client = legacy(fake, store=store)
    session_id = client.create_session("en")["result"]["session_id"]
    fake.fail("PATCH", "tus-upload", "pass", 400)
    with pytest.raises(ScriptixError):
        client.upload(session_id, wav)
    offset = len(fake.only_upload().data)
    assert 0 < offset < wav.stat().st_size
    rerun = legacy(fake, store=store)  # a new client, as after a restart
    assert rerun.upload(session_id, wav)["result"]["status"] == "uploaded"
    assert fake.count("POST", "tus-create") == 1
    assert bytes(fake.only_upload().data) == wav.read_bytes()


def test_a_session_created_elsewhere_can_take_an_upload(fake: FakeV3, wav: Path) -> None:
    from compat import V3Client

    created = V3Client(api_key=TOKEN, base_url=fake.base_url, store=":memory:").create_session(language="de")
    client = legacy(fake)
    client.upload(created.session_id, wav)
    assert fake.only_upload().metadata["language"] == "de"
    with pytest.raises(NotFoundError):
        legacy(fake, token=OTHER).upload(created.session_id, wav)


# Owner checks -------------------------------------------------------------------------------


def test_another_token_gets_404_and_a_second_delete_gets_the_upstream_400(fake: FakeV3, wav: Path) -> None:
    owner = legacy(fake)
    session_id = owner.create_session("en")["result"]["session_id"]
    stranger = legacy(fake, token=OTHER, store=owner.v3.store)
    before = len(fake.requests)
    for call in (
        lambda: stranger.get_result(session_id),
        lambda: stranger.upload(session_id, wav),
        lambda: stranger.align(session_id, wav, io.BytesIO(b"hello")),
        lambda: stranger.delete(session_id),
    ):
        with pytest.raises(NotFoundError) as caught:
            call()
        assert caught.value.status_code == 404
        assert caught.value.body == {"error": FOREIGN}
    # The shim knows the owner: each refusal only asked upstream whether the stranger's token is valid.
    assert fake.requests[before:] == [("GET", "session", 0)] * 4
    # A stranger with its own store asks upstream, which says 404 too.
    with pytest.raises(NotFoundError):
        legacy(fake, token=OTHER).get_result(session_id)
    owner.delete(session_id)
    with pytest.raises(ScriptixError) as second:
        owner.delete(session_id)
    assert second.value.status_code == 400
    assert second.value.body == {"error": "The transcript is already marked as removed"}


FOREIGN = "The requested session was not found, or did not belong to the supplied token"


def test_an_invalid_token_on_a_session_the_store_knows_gets_upstreams_401(fake: FakeV3, wav: Path) -> None:
    owner = legacy(fake)
    session_id = owner.create_session("en")["result"]["session_id"]
    fake.rejected_tokens.add("not-a-valid-token")
    invalid = legacy(fake, token="not-a-valid-token", store=owner.v3.store)
    before = len(fake.requests)
    for call in (
        lambda: invalid.get_result(session_id),
        lambda: invalid.upload(session_id, wav),
        lambda: invalid.align(session_id, wav, io.BytesIO(b"hello")),
        lambda: invalid.delete(session_id),
    ):
        with pytest.raises(AuthenticationError) as caught:
            call()
        assert (caught.value.status_code, caught.value.body) == (401, {"error": "Unauthorized"})
    # One GET of the session each (nothing deleted, nothing uploaded); the same 401 as for a session
    # the store does not know, so the answer tells an invalid token nothing about the store.
    assert fake.requests[before:] == [("GET", "session", 0)] * 4
    with pytest.raises(AuthenticationError):
        invalid.get_result("0123456789abcdef")
    assert owner.get_result(session_id)["result"]["status"] == "new"  # untouched


def test_a_session_adopted_meanwhile_by_another_token_is_a_404(
    fake: FakeV3, wav: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from compat import V3Client

    # Made outside the shim, visible upstream to both tokens (say two keys of one account).
    created = V3Client(api_key=TOKEN, base_url=fake.base_url, store=":memory:").create_session(language="en")
    fake.sessions[created.session_id].token = OTHER
    late = legacy(fake, token=OTHER)
    book = late.translator.sessions
    adopt = book.adopt

    def adopted_by_someone_else_first(token: str, session_id: str, options: dict[str, Any]) -> bool:
        adopt(TOKEN, session_id, options)  # another process, another token, a moment earlier
        return adopt(token, session_id, options)

    monkeypatch.setattr(book, "adopt", adopted_by_someone_else_first)
    with pytest.raises(NotFoundError) as caught:
        late.upload(created.session_id, wav)
    assert caught.value.body == {"error": FOREIGN}
    assert fake.count("POST", "tus-create") == 0


# Malformed calls ----------------------------------------------------------------------------

MALFORMED_CREATE: list[tuple[str, dict[str, Any], int]] = [
    ("no language", {}, 400),
    ("empty language", {"language": ""}, 400),
    ("blank language", {"language": "   "}, 400),
    ("language not a string", {"language": 7}, 400),
    ("language with newline", {"language": "en\n"}, 400),
    ("language too long", {"language": "x" * 65}, 400),
    ("punctuation as string", {"language": "en", "punctuation": "true"}, 422),
    ("keep_source as int", {"language": "en", "keep_source": 1}, 422),
    ("multichannel as null", {"language": "en", "multichannel": None}, 422),
    ("webhook_method GET", {"language": "en", "webhook_url": "https://h.example/x", "webhook_method": "GET"}, 422),
    ("webhook_method without url", {"language": "en", "webhook_method": "POST"}, 422),
    ("webhook_headers without url", {"language": "en", "webhook_headers": ["A: b"]}, 422),
    (
        "webhook_headers not a list",
        {"language": "en", "webhook_url": "https://h.example", "webhook_headers": "A: b"},
        422,
    ),
    (
        "webhook header no colon",
        {"language": "en", "webhook_url": "https://h.example", "webhook_headers": ["A b"]},
        422,
    ),
    (
        "webhook header CRLF",
        {"language": "en", "webhook_url": "https://h.example", "webhook_headers": ["A: b\r\nX-Evil: 1"]},
        422,
    ),
    (
        "webhook header empty value",
        {"language": "en", "webhook_url": "https://h.example", "webhook_headers": ["A:"]},
        422,
    ),
    ("webhook_url ftp", {"language": "en", "webhook_url": "ftp://h.example/x"}, 422),
    ("webhook_url not a string", {"language": "en", "webhook_url": 5}, 422),
    ("meta_data not an object", {"language": "en", "meta_data": ["a"]}, 422),
    ("meta_data number value", {"language": "en", "meta_data": {"duration": 100}}, 422),
    ("media_source file scheme", {"language": "en", "media_source": "file:///etc/passwd"}, 422),
    ("media_source gopher", {"language": "en", "media_source": "gopher://h.example/"}, 422),
    ("media_source no host", {"language": "en", "media_source": "http:///x.mp3"}, 422),
    ("media_source bad port", {"language": "en", "media_source": "http://h.example:99999/x"}, 422),
    ("document not an object", {"language": "en", "document": "caption"}, 422),
    ("document bad type", {"language": "en", "document": {"document_type": "pdf"}}, 422),
    (
        "document webhook GET",
        {"language": "en", "document": {"webhook_url": "https://h.e", "webhook_method": "GET"}},
        422,
    ),
    ("both callback and webhook", {"language": "en", "webhook_url": "https://a.e", "callback_url": "https://b.e"}, 422),
]


@pytest.mark.parametrize(
    ("body", "status"), [(b, s) for _, b, s in MALFORMED_CREATE], ids=[n for n, _, _ in MALFORMED_CREATE]
)
def test_malformed_create_gets_a_v1_4xx_and_nothing_goes_upstream(
    fake: FakeV3, body: dict[str, Any], status: int
) -> None:
    client = legacy(fake)
    with pytest.raises(ScriptixError) as caught:
        client.translator.create_session(TOKEN, body)
    assert caught.value.status_code == status
    assert isinstance(caught.value.body, dict) and caught.value.body["error"]
    assert fake.requests == []


def test_create_body_that_is_not_an_object_or_has_no_token(fake: FakeV3) -> None:
    client = legacy(fake)
    for body in ([], "en", None, 3):
        with pytest.raises(ScriptixError) as caught:
            client.translator.create_session(TOKEN, body)
        assert caught.value.status_code == 422
    with pytest.raises(ScriptixError) as unauthorized:
        client.translator.create_session(None, {"language": "en"})
    assert unauthorized.value.status_code == 401
    assert fake.requests == []


def test_unknown_fields_are_forwarded_by_default_and_refused_on_request(fake: FakeV3) -> None:
    session_id = legacy(fake).create_session("en", diarization=True)["result"]["session_id"]
    assert fake.sessions[session_id].fields["diarization"] is True
    before = len(fake.requests)
    with pytest.raises(ScriptixError) as caught:
        legacy(fake, unknown_fields="reject").create_session("en", diarization=True)
    assert caught.value.status_code == 422
    assert len(fake.requests) == before


def test_callback_names_are_accepted_as_webhook_names(fake: FakeV3) -> None:
    session_id = legacy(fake).create_session("en", callback_url="https://h.example/cb", callback_method="put")[
        "result"
    ]["session_id"]
    fields = fake.sessions[session_id].fields
    assert fields["webhook_url"] == "https://h.example/cb" and fields["webhook_method"] == "PUT"


MALFORMED_UPLOAD: list[tuple[str, dict[str, Any], int]] = [
    ("text content type", {"content_type": "text/plain"}, 415),
    ("no content type", {"content_type": None}, 415),
    ("json content type", {"content_type": "application/json"}, 415),
    ("audio without subtype", {"content_type": "audio/"}, 415),
    ("filename with slash", {"filename": "../../etc/passwd"}, 400),
    ("filename with backslash", {"filename": "a\\b.wav"}, 400),
    ("filename with CRLF", {"filename": "a.wav\r\nX-Evil: 1"}, 400),
    ("filename with NUL", {"filename": "a\x00.wav"}, 400),
    ("filename dot-dot", {"filename": ".."}, 400),
    ("filename too long", {"filename": "a" * 300 + ".wav"}, 400),
    ("empty filename", {"filename": ""}, 400),
    ("empty body declared", {"content_length": 0}, 400),
    ("session id path trick", {"session_id": "../result"}, 404),
    ("session id with slash", {"session_id": "a/b"}, 404),
    ("session id empty", {"session_id": ""}, 404),
    ("unknown session", {"session_id": "ffffffffffffffffffffffffff"}, 404),
    ("no token", {"token": None}, 401),
]


@pytest.mark.parametrize(
    ("change", "status"), [(c, s) for _, c, s in MALFORMED_UPLOAD], ids=[n for n, _, _ in MALFORMED_UPLOAD]
)
def test_malformed_upload_gets_a_v1_4xx_and_no_tus_upload_starts(
    fake: FakeV3, change: dict[str, Any], status: int
) -> None:
    client = legacy(fake)
    session_id = client.create_session("en")["result"]["session_id"]
    call: dict[str, Any] = {
        "token": TOKEN,
        "session_id": session_id,
        "content_type": "audio/wav",
        "filename": "talk.wav",
        "content_length": 10,
    }
    call.update(change)
    before = len(fake.requests)
    with pytest.raises(ScriptixError) as caught:
        client.translator.upload(
            call["token"],
            call["session_id"],
            io.BytesIO(b"0123456789"),
            content_type=call["content_type"],
            filename=call["filename"],
            content_length=call["content_length"],
        )
    assert caught.value.status_code == status
    assert caught.value.body["error"]
    assert fake.uploads == {}
    if change.get("session_id") != "ffffffffffffffffffffffffff":
        assert len(fake.requests) == before  # refused before anything went upstream


def test_an_empty_body_without_a_length_is_refused_and_leaves_no_upload(fake: FakeV3) -> None:
    client = legacy(fake)
    session_id = client.create_session("en")["result"]["session_id"]
    with pytest.raises(ScriptixError) as caught:
        client.upload(session_id, io.BytesIO(b""), filename="a.wav", content_type="audio/wav")
    assert caught.value.status_code == 400
    assert fake.uploads == {}


# Results --------------------------------------------------------------------------------------


def test_wait_polls_until_done_and_returns_word_tuples(fake: FakeV3, wav: Path) -> None:
    client = legacy(fake)
    session_id = client.create_session("en")["result"]["session_id"]
    client.upload(session_id, wav)
    polls = {"n": 0}
    original = fake._result

    def finishing(request: Request, ident: str | None) -> Response:
        polls["n"] += 1
        if polls["n"] == 3:
            fake.sessions[session_id].status = "finished"
        return original(request, ident)

    fake._result = finishing  # type: ignore[method-assign]
    result = client.wait(session_id, timeout=10, poll_interval=0.01)
    assert result["result"]["status"] == "done"
    assert result["result"]["results"][0]["result"][0] == ["hello", 0.0, 0.5, 0.98]
    assert polls["n"] == 3


def test_wait_gives_up_with_the_session_id(fake: FakeV3) -> None:
    client = legacy(fake)
    session_id = client.create_session("en")["result"]["session_id"]
    started = time.monotonic()
    with pytest.raises(WaitTimeoutError) as caught:
        client.wait(session_id, timeout=0.2, poll_interval=0.05)
    assert time.monotonic() - started < 2
    assert caught.value.session_id == session_id
    assert session_id in str(caught.value)
    assert isinstance(caught.value, TimeoutError)


def test_failed_status_ends_the_wait(fake: FakeV3) -> None:
    client = legacy(fake)
    session_id = client.create_session("en")["result"]["session_id"]
    fake.sessions[session_id].status = "error"
    assert client.wait(session_id, timeout=5, poll_interval=0.01)["result"]["status"] == "failed"


# Align ----------------------------------------------------------------------------------------


def test_align_uploads_media_and_transcript_bound_to_the_session(fake: FakeV3, wav: Path) -> None:
    client = legacy(fake)
    session_id = client.create_session("en")["result"]["session_id"]
    answer = client.align(session_id, wav, io.BytesIO(b"hello world\n"))
    assert answer["result"]["status"] == "uploaded"
    uploads = sorted(fake.uploads.values(), key=lambda u: u.metadata["filetype"])
    assert [u.metadata["filetype"] for u in uploads] == ["audio/x-wav", "text/plain"]
    assert all(u.metadata["session_id"] == session_id for u in uploads)
    assert bytes(uploads[1].data) == b"hello world\n"
    assert fake.v1_calls == []


def test_align_passthrough_sends_the_v1_multipart_call(fake: FakeV3, wav: Path) -> None:
    fake.accept_align = True
    client = legacy(fake, align_strategy="passthrough")
    session_id = client.create_session("en")["result"]["session_id"]
    client.align(session_id, wav, io.BytesIO(b"hello world\n"))
    content_type, body = fake.align_bodies[0]
    assert content_type.startswith("multipart/form-data; boundary=")
    assert b'name="media_file"; filename="talk.wav"' in body
    assert b'name="transcript_file"' in body and b"hello world\n" in body
    assert wav.read_bytes() in body
    assert fake.uploads == {}


# media_source ---------------------------------------------------------------------------------


def test_media_source_is_fetched_streamed_and_bound_to_the_session(fake: FakeV3, media_server: HTTPServer) -> None:
    data = os.urandom(150_000)
    media_server.expect_request("/x-file.mp3").respond_with_data(data, content_type="audio/mpeg")
    url = media_server.url_for("/x-file.mp3")
    client = legacy(fake, allow_private_media=True)
    answer = client.create_session("en", media_source=url, keep_source=True, meta_data={"key": "value"})
    session_id = answer["result"]["session_id"]
    assert_golden(answer, "create_session_media_source", session_id=session_id, media_filename=media_filename(url))
    upload = fake.only_upload()
    assert bytes(upload.data) == data
    assert upload.metadata["filename"] == media_filename(url)
    assert upload.metadata["filetype"] == "audio/mpeg"
    assert upload.metadata["session_id"] == session_id
    assert fake.v1_calls == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x.mp3",
        "http://localhost/x.mp3",
        "http://10.1.2.3/x.mp3",
        "http://192.168.0.10/x.mp3",
        "http://172.16.5.4/x.mp3",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/x.mp3",
        "http://[fd00:ec2::254]/x.mp3",
        "http://[::ffff:127.0.0.1]/x.mp3",
        "http://2130706433/x.mp3",
        "http://0x7f000001/x.mp3",
        "http://0177.0.0.1/x.mp3",
        "http://0.0.0.0/x.mp3",
        "http://100.64.0.1/x.mp3",
        "http://224.0.0.1/x.mp3",
    ],
)
def test_media_source_to_private_addresses_is_refused(fake: FakeV3, url: str) -> None:
    client = legacy(fake)
    with pytest.raises(ScriptixError) as caught:
        client.create_session("en", media_source=url)
    assert caught.value.status_code == 422
    assert "media_source" in caught.value.body["error"]
    assert fake.requests == []


def test_media_source_redirect_to_loopback_is_refused(
    fake: FakeV3, media_server: HTTPServer, httpserver: HTTPServer
) -> None:
    target = httpserver.url_for("/secret.mp3")  # 127.0.0.1 / localhost: private
    media_server.expect_request("/x-file.mp3").respond_with_data("", status=302, headers={"Location": target})
    client = legacy(fake)
    client.translator.fetcher.policy = AddressPolicy(also_allow=["127.0.0.2/32"])
    with pytest.raises(ScriptixError) as caught:
        client.create_session("en", media_source=media_server.url_for("/x-file.mp3"))
    assert caught.value.status_code == 422
    assert len(media_server.log) == 1  # the first hop was fetched, the redirect was not followed
    assert fake.requests == [] and fake.uploads == {}


def test_media_source_dns_rebinding_is_caught_at_connect_time(
    fake: FakeV3, media_server: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    media_server.expect_request("/x-file.mp3").respond_with_data(b"x" * 100, content_type="audio/mpeg")
    port = media_server.port
    real = socket.getaddrinfo
    answers = iter([[(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]])

    def rebinding(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == "rebind.example":
            try:
                return next(answers)  # the check sees a public address...
            except StopIteration:
                return real("127.0.0.2", *args, **kwargs)  # ...the connection gets loopback
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    client = legacy(fake)
    with pytest.raises(ScriptixError) as caught:
        client.create_session("en", media_source=f"http://rebind.example:{port}/x-file.mp3")
    assert caught.value.status_code == 422
    assert len(media_server.log) == 0
    assert fake.requests == []


def test_media_source_that_fails_to_download_creates_no_session(fake: FakeV3, media_server: HTTPServer) -> None:
    media_server.expect_request("/missing.mp3").respond_with_data("nope", status=404)
    client = legacy(fake, allow_private_media=True)
    with pytest.raises(ScriptixError) as caught:
        client.create_session("en", media_source=media_server.url_for("/missing.mp3"))
    assert caught.value.status_code == 400
    assert fake.sessions == {} and fake.uploads == {}


def test_media_source_over_the_size_cap_is_refused(fake: FakeV3, media_server: HTTPServer) -> None:
    media_server.expect_request("/big.mp3").respond_with_data(b"x" * 5000, content_type="audio/mpeg")
    client = legacy(fake, allow_private_media=True, max_media_bytes=1000)
    with pytest.raises(ScriptixError) as caught:
        client.create_session("en", media_source=media_server.url_for("/big.mp3"))
    assert caught.value.status_code == 400
    assert fake.sessions == {} and fake.uploads == {}


def test_media_source_in_the_background_answers_uploading_then_uploaded(fake: FakeV3, media_server: HTTPServer) -> None:
    release, data = serve_held_media(media_server, "/slow.mp3", hold=5)
    client = legacy(fake, allow_private_media=True, media_source_mode="background")
    answer = client.create_session("en", media_source=media_server.url_for("/slow.mp3"))
    session_id = answer["result"]["session_id"]
    assert answer["result"]["status"] == "uploading"
    in_flight = client.get_result(session_id)
    assert in_flight["result"]["status"] == "uploading"
    assert fake.count("GET", "result") == 0  # answered by the shim, not a 404 from upstream
    release.set()
    client.translator.wait_for_transfers(10)
    assert bytes(fake.only_upload().data) == data
    assert client.get_result(session_id)["result"]["status"] == "new"  # upstream's word from now on


class _Body(io.RawIOBase):
    """A fetched body as the translator reads it: cannot seek."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        return self._data.readinto(buffer)


def _cut_off_media_source_job(fake: FakeV3, media_server: HTTPServer, store: str, data: bytes) -> tuple[str, str, int]:
    """A first process ran a ``media_source`` job under the session's key (receipts recorded) and was
    killed after some chunks: the session, the media URL and the server's offset."""
    from compat import V3Client
    from compat.store import StoredReceipt
    from compat.translate import media_resume_key, tus_metadata
    from compat.v3.receipts import ChunkReceipt

    media_server.expect_request("/x-file.mp3").respond_with_data(data, content_type="audio/mpeg")
    url = media_server.url_for("/x-file.mp3")
    first = legacy(fake, store=store, allow_private_media=True)
    session_id = (
        V3Client(api_key=TOKEN, base_url=fake.base_url, store=":memory:").create_session(language="en").session_id
    )
    options = {"language": "en", "media_source": url, "keep_source": False, "punctuation": False, "multichannel": False}
    book = first.translator.sessions
    book.remember(TOKEN, session_id, options, state="uploading")
    metadata = tus_metadata(
        options, session_id=session_id, filename=media_filename(url), filetype="audio/mpeg", document_type="caption"
    )

    def keep(receipt: ChunkReceipt) -> None:
        book.add_receipt(session_id, StoredReceipt("", receipt.offset, receipt.length, receipt.digest))

    fake.fail("PATCH", "tus-upload", "pass", "pass", 400)
    with pytest.raises(ScriptixError):
        first.v3.upload(
            _Body(data),
            metadata,
            resolve_session=False,
            length=len(data),
            resume_key=media_resume_key(session_id, book.owner_of(TOKEN)),
            on_chunk=keep,
        )
    offset = len(fake.only_upload().data)
    assert 0 < offset < len(data) and len(book.receipts(session_id)) == 2
    return session_id, url, offset


def patched_bytes(fake: FakeV3) -> int:
    return sum(size for method, route, size in fake.requests if method == "PATCH" and route == "tus-upload")


def test_a_media_source_job_cut_off_by_a_restart_resumes_on_the_owners_next_call(
    fake: FakeV3, media_server: HTTPServer, tmp_path: Path
) -> None:
    data = os.urandom(300_000)
    store = str(tmp_path / "state.sqlite3")
    session_id, _, offset = _cut_off_media_source_job(fake, media_server, store, data)
    sent_before = patched_bytes(fake)
    # The restarted process: the owner's next poll picks the job up; the media is fetched again
    # from byte 0, checked against the receipts up to the server's offset, and only the rest is sent.
    second = legacy(fake, store=store, allow_private_media=True)
    assert second.get_result(session_id)["result"]["status"] == "uploading"
    second.translator.wait_for_transfers(10)
    assert fake.count("POST", "tus-create") == 1
    assert bytes(fake.only_upload().data) == data
    assert patched_bytes(fake) - sent_before == len(data) - offset  # nothing below the offset sent again
    assert second.get_result(session_id)["result"]["status"] == "new"  # upstream's word once uploaded
    # Another token cannot trigger (or see) the job.
    with pytest.raises(NotFoundError):
        legacy(fake, token=OTHER, store=store).get_result(session_id)


def test_a_media_source_that_changed_since_the_cut_off_job_starts_a_new_upload(
    fake: FakeV3, media_server: HTTPServer, tmp_path: Path
) -> None:
    data = os.urandom(300_000)
    store = str(tmp_path / "state.sqlite3")
    session_id, _, _ = _cut_off_media_source_job(fake, media_server, store, data)
    [old] = fake.uploads.values()
    changed = os.urandom(len(data))
    media_server.clear()
    media_server.expect_request("/x-file.mp3").respond_with_data(changed, content_type="audio/mpeg")
    second = legacy(fake, store=store, allow_private_media=True)
    assert second.get_result(session_id)["result"]["status"] == "uploading"
    second.translator.wait_for_transfers(10)
    assert fake.count("POST", "tus-create") == 2
    assert fake.count("DELETE", "tus-delete") == 1 and old.id not in fake.uploads  # the old one terminated
    [new] = fake.uploads.values()
    assert bytes(new.data) == changed


def test_an_interrupted_put_can_be_repeated_by_the_caller(fake: FakeV3, wav: Path, tmp_path: Path) -> None:
    store = str(tmp_path / "state.sqlite3")
    first = legacy(fake, store=store)
    session_id = first.create_session("en")["result"]["session_id"]
    first.translator.sessions.update(session_id, state="uploading")  # as if killed mid-PUT
    second = legacy(fake, store=store)
    assert second.upload(session_id, wav)["result"]["status"] == "uploaded"
    assert bytes(fake.only_upload().data) == wav.read_bytes()


def test_legacy_upload_memory_does_not_grow_with_the_file(sink_upstream: tuple[str, Path], tmp_path: Path) -> None:
    import tracemalloc

    sink_url, sink_dir = sink_upstream
    source = tmp_path / "big.wav"
    with open(source, "wb") as out:
        for _ in range(48):
            out.write(os.urandom(1 << 20))
    client = LegacyClient(api_key=TOKEN, base_url=sink_url, store=":memory:", chunk_size="16MiB")
    session_id = client.create_session("en")["result"]["session_id"]  # before: loads what the session book needs
    tracemalloc.start()
    try:
        answer = client.upload(session_id, source)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert answer["result"]["status"] == "uploaded"
    assert (sink_dir / "u1").read_bytes() == source.read_bytes()
    assert peak < 2 << 20, f"peak {peak / 2**20:.1f} MiB for a 48 MiB file in 16 MiB chunks"
