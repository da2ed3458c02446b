"""compat.install() / compat.mount(): legacy code using plain ``requests`` keeps working on V3.

The legacy program (tests/legacy_program.py) is written from the V1 docs and knows nothing of the
shim; the upstream is the scripted V3 fake, which answers 410 to any V1-only call.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import os
import re
import socket
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

import pytest
import requests
import requests.api
from fake_v3 import FakeV3
from legacy_program import transcribe
from pytest_httpserver import HTTPServer
from requests.adapters import HTTPAdapter
from werkzeug import Request, Response

from compat import (
    ConfigurationError,
    InstallHandle,
    LegacyV1Warning,
    V3Client,
    install,
    intercept,
    mount,
)
from compat.frontdoor import batch_v1
from compat.frontdoor.http import V1Answer, V1Request

TOKEN = "legacy-token"
OTHER = "someone-else"
LEGACY = "https://api.scriptix.io"  # never reached: the test process may only talk to 127.0.0.1
SESSIONS = "/api/v3/speech-to-text/session"
GOLDEN = Path(__file__).parents[1] / "golden" / "v1"
OPTIONS: dict[str, Any] = {"store": ":memory:", "chunk_size": 64 * 1024, "backoff_base": 0.001}
ORIGINAL_SEND = vars(HTTPAdapter)["send"]
RAW = "raw answer from the legacy host"


# Fixtures -------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any name other than the loopback ones fails to resolve: a request that escaped the shim
    fails fast instead of reaching the internet."""
    real = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in ("localhost", "::1") and not name.startswith("127."):
            raise socket.gaierror(socket.EAI_NONAME, f"tests resolve no name but loopback ({name})")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)


@pytest.fixture(autouse=True)
def nothing_left_installed() -> Iterator[None]:
    yield
    leftover = intercept._installed
    while intercept._installed is not None:
        intercept._release_install()
    assert vars(HTTPAdapter)["send"] is ORIGINAL_SEND
    assert leftover is None, "the test left compat.install() active"


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeV3:
    """The V3 fake; each session answers ``processing`` to its first result poll, then ``completed``."""
    fake = FakeV3(httpserver, token=TOKEN)
    polls: dict[str, int] = {}
    original = fake._result

    def progressing(request: Request, ident: str | None) -> Response:
        session = fake.sessions.get(ident or "")
        if session is not None and not session.deleted:
            polls[session.id] = polls.get(session.id, 0) + 1
            session.status = "processing" if polls[session.id] == 1 else "completed"
        return original(request, ident)

    fake._result = progressing  # type: ignore[method-assign]
    return fake


@pytest.fixture
def legacy_server() -> Iterator[HTTPServer]:
    """A plain HTTP server standing at the legacy URL: what requests reach without the shim."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.expect_request(re.compile(r".*")).respond_with_data(RAW, content_type="text/plain")
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    path = tmp_path / "talk.wav"
    path.write_bytes(b"RIFF" + os.urandom(200 * 1024))
    return path


def root(server: HTTPServer) -> str:
    return server.url_for("/").rstrip("/")


def golden(name: str, **values: str) -> str:
    text = (GOLDEN / f"{name}.json").read_text().strip()
    for key, value in values.items():
        text = text.replace(f"<{key}>", value)
    return json.dumps(json.loads(text))


def assert_golden(response: requests.Response, name: str, **values: str) -> None:
    expected = golden(name, **values)
    assert json.dumps(response.json()) == expected
    assert response.text == expected  # the body on the wire, too


def assert_golden_run(run: Any) -> None:
    session_id = run.session_id
    assert_golden(run.created, "create_session", session_id=session_id)
    assert_golden(run.uploaded, "upload", session_id=session_id)
    assert [p.json()["result"]["status"] for p in run.polls] == ["processing", "done"]
    assert_golden(run.polls[0], "result_processing", session_id=session_id)
    assert_golden(run.polls[-1], "result_done", session_id=session_id)
    assert_golden(run.deleted, "delete", session_id=session_id)


def v1_headers(token: str = TOKEN, **extra: str) -> dict[str, str]:
    return {"x-zoom-s2t-key": token, **extra}


# The legacy program, unchanged ------------------------------------------------------------------


def test_legacy_program_with_module_level_requests_runs_on_v3(fake: FakeV3, wav: Path) -> None:
    with install(base_url=fake.base_url, legacy_base_url=LEGACY, **OPTIONS):
        run = transcribe(LEGACY, TOKEN, wav)
    assert_golden_run(run)
    assert fake.v1_calls == []
    upload = fake.only_upload()
    assert bytes(upload.data) == wav.read_bytes()
    assert upload.metadata["session_id"] == run.session_id
    assert (upload.metadata["filename"], upload.metadata["filetype"]) == ("talk.wav", "audio/wav")
    assert fake.count("POST", "tus-create") == 1
    assert fake.sessions[run.session_id].deleted
    # Real responses, as from the server.
    for response in (run.created, run.uploaded, *run.polls, run.deleted):
        assert response.status_code == 200 and response.ok and response.reason == "OK"
        assert response.headers["Content-Type"] == "application/json"
        assert response.headers["Content-Length"] == str(len(response.content))
        assert response.content == response.text.encode()
        assert response.url == response.request.url and response.url.startswith(LEGACY + SESSIONS)
        assert isinstance(response.connection, HTTPAdapter)
        assert isinstance(response.elapsed, datetime.timedelta)
        response.raise_for_status()
    assert [r.request.method for r in (run.created, run.uploaded, run.polls[0], run.deleted)] == [
        "POST",
        "PUT",
        "GET",
        "DELETE",
    ]


@pytest.mark.parametrize("created", ["before install", "after install"])
def test_legacy_program_through_a_session_created_before_or_after_install(
    fake: FakeV3, wav: Path, created: str
) -> None:
    early = requests.Session() if created == "before install" else None
    with install(base_url=fake.base_url, legacy_base_url=LEGACY, **OPTIONS):
        session = early or requests.Session()
        with session:
            run = transcribe(LEGACY, TOKEN, wav, http=session)
    assert_golden_run(run)
    assert fake.v1_calls == []
    assert bytes(fake.only_upload().data) == wav.read_bytes()


def test_a_generator_and_a_bytes_body_are_uploaded_too(fake: FakeV3, wav: Path) -> None:
    data = wav.read_bytes()
    with install(base_url=fake.base_url, legacy_base_url=LEGACY, **OPTIONS):
        from_bytes = transcribe(LEGACY, TOKEN, data)
        from_generator = transcribe(LEGACY, TOKEN, (data[i : i + 10_000] for i in range(0, len(data), 10_000)))
    for run in (from_bytes, from_generator):
        assert_golden_run(run)
    assert [bytes(u.data) for u in fake.uploads.values()] == [data, data]
    assert fake.v1_calls == []


# Production: the legacy URL is the upstream --------------------------------------------------------


def test_when_legacy_url_is_the_upstream_the_shims_own_calls_are_not_intercepted(
    fake: FakeV3, wav: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[str] = []
    dispatch = batch_v1.dispatch

    def spy(translator: Any, call: batch_v1.V1Call | V1Request) -> V1Answer:
        request = call.request if isinstance(call, batch_v1.V1Call) else call
        served.append(f"{request.method} {request.path}")
        return dispatch(translator, call)

    monkeypatch.setattr(batch_v1, "dispatch", spy)
    with install(base_url=fake.base_url, legacy_base_url=fake.base_url, **OPTIONS):
        run = transcribe(fake.base_url, TOKEN, wav)
        assert [s.split(" ")[0] for s in served] == ["POST", "PUT", "GET", "GET", "DELETE"]
        # The application's own V3Client on the same URL (call sites already migrated) is not intercepted.
        with V3Client(api_key=TOKEN, base_url=fake.base_url, store=":memory:") as v3:
            session_id = v3.create_session(language="de").session_id
            v3.get_result(session_id)
            assert v3.get_result(session_id).status == "completed"  # V3's word; the shim says "done"
    assert len(served) == 5
    assert_golden_run(run)
    assert fake.v1_calls == []  # the PUT never reached the upstream: the shim uploaded over TUS
    assert fake.count("POST", "session-create") == 2  # the program's (through the shim) and the V3Client's
    assert fake.count("POST", "tus-create") == 1
    assert bytes(fake.only_upload().data) == wav.read_bytes()


# mount(session) -----------------------------------------------------------------------------------


class RecordingAdapter(HTTPAdapter):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self.urls.append(request.url or "")
        return super().send(request, *args, **kwargs)


def test_mount_serves_one_session_only_and_unmounts_cleanly(fake: FakeV3, wav: Path, legacy_server: HTTPServer) -> None:
    legacy = root(legacy_server)
    session, other = requests.Session(), requests.Session()
    own = RecordingAdapter()
    session.mount("http://", own)  # the application's own adapter stays in charge of everything else
    adapters_before = list(session.adapters.items())
    handle = mount(session, base_url=fake.base_url, legacy_base_url=legacy, **OPTIONS)
    try:
        run = transcribe(legacy, TOKEN, wav, http=session)
        assert legacy_server.log == []
        # Not V1, through the mounted session: goes on to the session's own adapter, sent to the
        # shim's upstream (base_url), not to the legacy host.
        session.get(f"{legacy}/api/v3/files/x?q=1", headers=v1_headers())
        assert fake.requests[-1][:2] == ("GET", "tus-info")
        # Module-level requests and other sessions are untouched.
        create: dict[str, Any] = {"json": {"language": "en"}, "headers": v1_headers()}
        assert requests.post(f"{legacy}{SESSIONS}", **create).text == RAW
        assert other.post(f"{legacy}{SESSIONS}", **create).text == RAW
        assert vars(HTTPAdapter)["send"] is ORIGINAL_SEND
    finally:
        handle.uninstall()
    assert_golden_run(run)
    assert fake.v1_calls == []
    assert [r.path for r, _ in legacy_server.log] == [SESSIONS, SESSIONS]
    assert list(session.adapters.items()) == adapters_before
    assert session.post(f"{legacy}{SESSIONS}", json={"language": "en"}, headers=v1_headers()).text == RAW
    assert not handle.installed
    assert own.urls == [f"{fake.base_url}/api/v3/files/x?q=1", f"{legacy}{SESSIONS}"]


def test_mount_puts_back_an_adapter_mounted_at_the_same_prefix(fake: FakeV3) -> None:
    session = requests.Session()
    mine = HTTPAdapter()
    session.mount("https://api.scriptix.io/", mine)
    with mount(session, base_url=fake.base_url, **OPTIONS):
        assert session.get_adapter(LEGACY + SESSIONS) is not mine
    assert session.get_adapter(LEGACY + SESSIONS) is mine


# Uninstall ----------------------------------------------------------------------------------------


def _requests_attributes() -> dict[str, Any]:
    return {
        "HTTPAdapter.send": vars(HTTPAdapter)["send"],
        "Session.send": vars(requests.Session)["send"],
        "Session.get_adapter": vars(requests.Session)["get_adapter"],
        "Session.mount": vars(requests.Session)["mount"],
        "Session.__init__": vars(requests.Session)["__init__"],
        "requests.api.request": requests.api.request,
        "requests.post": requests.post,
    }


def test_after_uninstall_requests_behave_exactly_as_before(fake: FakeV3, legacy_server: HTTPServer) -> None:
    legacy = root(legacy_server)
    before = _requests_attributes()

    def create() -> requests.Response:
        return requests.post(f"{legacy}{SESSIONS}", json={"language": "en"}, headers=v1_headers())

    assert create().text == RAW
    handle = install(base_url=fake.base_url, legacy_base_url=legacy, **OPTIONS)
    assert handle.installed
    patched = _requests_attributes()
    assert patched["HTTPAdapter.send"] is not before["HTTPAdapter.send"]
    assert {k: v for k, v in patched.items() if k != "HTTPAdapter.send"} == {
        k: v for k, v in before.items() if k != "HTTPAdapter.send"
    }
    assert create().json()["result"]["status"] == "new"  # served by the shim
    assert len(legacy_server.log) == 1
    handle.uninstall()
    after = _requests_attributes()
    assert all(after[name] is before[name] for name in before)
    answer = create()
    assert (answer.status_code, answer.text) == (200, RAW)
    assert len(legacy_server.log) == 2
    raw_request, _ = legacy_server.log[-1]
    assert (raw_request.method, raw_request.path) == ("POST", SESSIONS)
    assert raw_request.get_json() == {"language": "en"}
    assert raw_request.headers["x-zoom-s2t-key"] == TOKEN
    handle.uninstall()  # a second uninstall is a no-op
    assert not handle.installed and vars(HTTPAdapter)["send"] is ORIGINAL_SEND


def test_uninstall_leaves_a_patch_made_on_top_in_place(fake: FakeV3, legacy_server: HTTPServer) -> None:
    legacy = root(legacy_server)
    handle = install(base_url=fake.base_url, legacy_base_url=legacy, **OPTIONS)
    ours = vars(HTTPAdapter)["send"]
    seen: list[str] = []

    def theirs(self: HTTPAdapter, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        seen.append(request.url or "")
        return ours(self, request, *args, **kwargs)

    attribute = "send"
    setattr(HTTPAdapter, attribute, theirs)
    try:
        handle.uninstall()
        assert vars(HTTPAdapter)["send"] is theirs
        answer = requests.post(f"{legacy}{SESSIONS}", json={"language": "en"}, headers=v1_headers())
        assert answer.text == RAW  # the shim's wrapper under their patch passes through
        assert seen == [f"{legacy}{SESSIONS}"]
    finally:
        setattr(HTTPAdapter, attribute, ORIGINAL_SEND)


# Everything that is not a V1 call passes through ----------------------------------------------------

PASS_THROUGH = [
    ("GET", "/api/v3/files/x"),
    ("OPTIONS", "/api/v3/files/"),
    ("GET", f"{SESSIONS}/abc"),  # session status: V3, not V1
    ("PATCH", f"{SESSIONS}/abc"),
    ("POST", f"{SESSIONS}/abc"),  # V1 uploads were PUT
    ("GET", SESSIONS),
    ("PUT", f"{SESSIONS}/abc/result"),
    ("GET", f"{SESSIONS}/abc/result/extra"),
    ("GET", "/other"),
]


@pytest.mark.parametrize(("method", "path"), PASS_THROUGH, ids=[f"{m} {p}" for m, p in PASS_THROUGH])
@pytest.mark.parametrize("upstream", ["the legacy URL", "elsewhere"])
def test_non_v1_requests_to_the_legacy_url_go_unchanged_to_the_shims_upstream(
    legacy_server: HTTPServer, method: str, path: str, upstream: str
) -> None:
    """Production (``base_url`` is the legacy URL): untouched. A test's upstream (an emulator): the
    same request, its path below the legacy prefix and its query moved onto ``base_url``."""
    legacy = root(legacy_server) + "/scriptix"  # a legacy URL with a path prefix
    elsewhere = upstream == "elsewhere"
    base_url = f"http://localhost:{legacy_server.port}/v3root" if elsewhere else legacy
    with install(base_url=base_url, legacy_base_url=legacy, **OPTIONS):
        answer = requests.request(
            method, f"{legacy}{path}?q=1", data=b"payload", headers=v1_headers(**{"X-Custom": "kept"})
        )
    assert (answer.status_code, answer.text) == (200, RAW)
    [(arrived, _)] = legacy_server.log
    expected = f"/v3root{path}" if elsewhere else f"/scriptix{path}"
    assert (arrived.method, arrived.path, arrived.query_string) == (method, expected, b"q=1")
    assert arrived.host == (f"localhost:{legacy_server.port}" if elsewhere else f"127.0.0.1:{legacy_server.port}")
    assert arrived.get_data() == b"payload"
    assert arrived.headers["X-Custom"] == "kept" and arrived.headers["x-zoom-s2t-key"] == TOKEN


def test_v1_calls_to_another_url_pass_through_untouched(fake: FakeV3, legacy_server: HTTPServer) -> None:
    port = legacy_server.port
    with install(base_url=fake.base_url, legacy_base_url=f"http://127.0.0.1:{port}/scriptix", **OPTIONS):
        elsewhere = [
            f"http://127.0.0.1:{port}{SESSIONS}",  # outside the path prefix
            f"http://localhost:{port}/scriptix{SESSIONS}",  # another host name for the same server
        ]
        for url in elsewhere:
            assert requests.post(url, json={"language": "en"}, headers=v1_headers()).text == RAW
        with pytest.raises(requests.ConnectionError):  # another port: sent as is, and nobody listens there
            requests.post(f"http://127.0.0.1:{_closed_port()}/scriptix{SESSIONS}", json={"language": "en"})
        served = requests.post(
            f"http://127.0.0.1:{port}/scriptix{SESSIONS}", json={"language": "en"}, headers=v1_headers()
        )
    assert served.json()["result"]["status"] == "new"
    assert [r.path for r, _ in legacy_server.log] == [SESSIONS, f"/scriptix{SESSIONS}"]


# Malformed V1 calls: a V1 4xx, nothing upstream ----------------------------------------------------

MALFORMED: list[tuple[str, str, str, dict[str, Any], int]] = [
    ("bad JSON", "POST", "", {"data": b'{"language": ', "headers": {"Content-Type": "application/json"}}, 415),
    ("form-encoded body", "POST", "", {"data": {"language": "en"}}, 415),
    ("text/plain body", "POST", "", {"data": '{"language": "en"}', "headers": {"Content-Type": "text/plain"}}, 415),
    ("missing language", "POST", "", {"json": {}}, 400),
    ("language not a string", "POST", "", {"json": {"language": 7}}, 400),
    ("punctuation as a string", "POST", "", {"json": {"language": "en", "punctuation": "yes"}}, 422),
    ("no token", "POST", "", {"json": {"language": "en"}, "token": None}, 401),
    ("text/plain PUT", "PUT", "/{id}", {"data": b"abc", "headers": {"Content-Type": "text/plain"}}, 415),
    ("PUT without a content type", "PUT", "/{id}", {"data": b"abc"}, 415),
    (
        "x-filename with a path",
        "PUT",
        "/{id}",
        {"data": b"abc", "headers": {"Content-Type": "audio/wav", "x-filename": "../../etc/passwd"}},
        400,
    ),
    ("empty PUT body", "PUT", "/{id}", {"data": b"", "headers": {"Content-Type": "audio/wav"}}, 400),
    (
        "path-trick session id on PUT",
        "PUT",
        "/..%2Fresult",
        {"data": b"abc", "headers": {"Content-Type": "audio/wav"}},
        404,
    ),
    ("path-trick session id on result", "GET", "/a%2Fb/result", {}, 404),
    ("NUL in the session id", "GET", "/%00/result", {}, 404),
    ("another token's session", "GET", "/{id}/result", {"token": OTHER}, 404),
    ("another token's delete", "DELETE", "/{id}", {"token": OTHER}, 404),
    ("align that is not multipart", "POST", "/{id}/align", {"json": {"media_file": "x"}}, 415),
    (
        "align without a transcript",
        "POST",
        "/{id}/align",
        {"files": {"media_file": ("a.wav", b"RIFF", "audio/wav")}},
        422,
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "call", "status"),
    [(m, p, c, s) for _, m, p, c, s in MALFORMED],
    ids=[name for name, *_ in MALFORMED],
)
def test_malformed_v1_calls_get_a_v1_4xx_response_and_nothing_goes_upstream(
    fake: FakeV3, method: str, path: str, call: dict[str, Any], status: int
) -> None:
    with install(base_url=fake.base_url, legacy_base_url=LEGACY, **OPTIONS):
        created = requests.post(LEGACY + SESSIONS, json={"language": "en"}, headers=v1_headers())
        session_id = created.json()["result"]["session_id"]
        before = list(fake.requests)
        kwargs = dict(call)
        token = kwargs.pop("token", TOKEN)
        headers = {**({"x-zoom-s2t-key": token} if token else {}), **kwargs.pop("headers", {})}
        answer = requests.request(method, LEGACY + SESSIONS + path.format(id=session_id), headers=headers, **kwargs)
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == "application/json"
    assert isinstance(answer.json()["error"], str) and answer.json()["error"]
    assert not answer.ok
    with pytest.raises(requests.HTTPError) as raised:
        answer.raise_for_status()
    assert raised.value.response is answer
    if status == 404:
        assert answer.text == golden("error_404")
    if token == OTHER:  # a session the store knows under another token: upstream only vouches for the token
        assert fake.requests == [*before, ("GET", "session", 0)]
    else:
        assert fake.requests == before  # refused before anything went upstream
    assert fake.uploads == {}
    assert fake.v1_calls == []


def test_an_upstream_refusal_is_a_response_with_the_upstream_status(fake: FakeV3) -> None:
    fake.rejected_tokens.add("revoked")
    with install(base_url=fake.base_url, legacy_base_url=LEGACY, **OPTIONS):
        answer = requests.post(LEGACY + SESSIONS, json={"language": "en"}, headers=v1_headers("revoked"))
        unknown = requests.get(f"{LEGACY}{SESSIONS}/0123456789abcdef/result", headers=v1_headers())
    assert (answer.status_code, answer.reason, answer.json()) == (401, "Unauthorized", {"error": "Unauthorized"})
    assert (unknown.status_code, unknown.json()) == (404, {"error": "The requested session was not found"})
    with pytest.raises(requests.HTTPError):
        answer.raise_for_status()


# No answer upstream: the exception plain requests raises -------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_upstream_that_refuses_connections_raises_requests_connection_error() -> None:
    upstream = f"http://127.0.0.1:{_closed_port()}"
    with (
        install(base_url=upstream, legacy_base_url=LEGACY, max_retries=0, **OPTIONS),
        pytest.raises(requests.ConnectionError) as raised,
    ):
        requests.post(LEGACY + SESSIONS, json={"language": "en"}, headers=v1_headers())
    assert type(raised.value) is requests.ConnectionError
    assert raised.value.request is not None and raised.value.request.url == LEGACY + SESSIONS
    assert TOKEN not in str(raised.value)


def test_an_upstream_that_does_not_answer_in_time_raises_requests_timeout(fake: FakeV3) -> None:
    fake.fail("POST", "session-create", ("stall", 1.0))
    with (
        install(base_url=fake.base_url, legacy_base_url=LEGACY, timeout=0.2, max_retries=0, **OPTIONS),
        pytest.raises(requests.Timeout) as raised,
    ):
        requests.post(LEGACY + SESSIONS, json={"language": "en"}, headers=v1_headers())
    assert isinstance(raised.value, requests.ReadTimeout)


# Tokens, align, streamed responses, warnings -------------------------------------------------------


def test_a_bearer_token_is_accepted(fake: FakeV3) -> None:
    with install(base_url=fake.base_url, legacy_base_url=LEGACY, **OPTIONS):
        answer = requests.post(LEGACY + SESSIONS, json={"language": "en"}, headers={"Authorization": f"Bearer {TOKEN}"})
    session_id = answer.json()["result"]["session_id"]
    assert fake.sessions[session_id].token == TOKEN


def test_align_multipart_is_parsed_and_uploaded_over_tus(fake: FakeV3, tmp_path: Path) -> None:
    media = tmp_path / "talk.wav"
    media.write_bytes(b"RIFF" + os.urandom(1024 * 1024))  # larger than Werkzeug keeps in memory
    with install(base_url=fake.base_url, legacy_base_url=LEGACY, **OPTIONS):
        session_id = requests.post(LEGACY + SESSIONS, json={"language": "en"}, headers=v1_headers()).json()["result"][
            "session_id"
        ]
        with open(media, "rb") as media_file:
            answer = requests.post(
                f"{LEGACY}{SESSIONS}/{session_id}/align",
                files={
                    "media_file": ("talk.wav", media_file, "audio/wav"),
                    "transcript_file": ("talk.txt", io.BytesIO(b"hello world\n"), "text/plain"),
                },
                headers=v1_headers(),
            )
    answer.raise_for_status()
    assert_golden(answer, "upload", session_id=session_id)
    uploads = sorted(fake.uploads.values(), key=lambda u: u.metadata["filetype"])
    assert [u.metadata["filetype"] for u in uploads] == ["audio/wav", "text/plain"]
    assert bytes(uploads[0].data) == media.read_bytes()
    assert bytes(uploads[1].data) == b"hello world\n"
    assert all(u.metadata["session_id"] == session_id for u in uploads)
    assert fake.v1_calls == []


def test_a_streamed_response_and_response_hooks_work(fake: FakeV3) -> None:
    hooked: list[int] = []
    with install(base_url=fake.base_url, legacy_base_url=LEGACY, **OPTIONS):
        answer = requests.post(
            LEGACY + SESSIONS,
            json={"language": "en"},
            headers=v1_headers(),
            stream=True,
            hooks={"response": [lambda r, *a, **k: hooked.append(r.status_code)]},
        )
        text = b"".join(answer.iter_content(chunk_size=7))
    assert hooked == [200]
    assert json.loads(text)["result"]["status"] == "new"


def test_each_served_call_warns_at_the_legacy_programs_line(
    fake: FakeV3, wav: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCRIPTIX_COMPAT_WARN", "always")
    with install(base_url=fake.base_url, legacy_base_url=LEGACY, **OPTIONS), pytest.warns(LegacyV1Warning) as caught:
        transcribe(LEGACY, TOKEN, wav)
    legacy = [w for w in caught if issubclass(w.category, LegacyV1Warning)]
    assert len(legacy) == 5
    assert all(Path(w.filename).name == "legacy_program.py" for w in legacy)
    assert all("via compat.install()" in str(w.message) for w in legacy)


# Memory: a generator body is streamed --------------------------------------------------------------


# The upstream for the memory test runs in its own process: tests/sink_tus_server.py (TUS bodies go
# to disk, 64 KiB at a time) plus session creation. The in-process fake would distort the figure: it
# keeps bodies, and Werkzeug's dev server drains each closed connection with read(10_000_000).
def test_a_generator_put_body_is_streamed_with_bounded_memory(sink_upstream: tuple[str, Path]) -> None:
    sink_url, sink_dir = sink_upstream
    block, blocks = os.urandom(64 * 1024), 256  # 16 MiB in 64 KiB blocks

    def body() -> Iterator[bytes]:
        for _ in range(blocks):
            yield block

    with install(base_url=sink_url, legacy_base_url=LEGACY, store=":memory:", chunk_size=256 * 1024):
        created = requests.post(LEGACY + SESSIONS, json={"language": "en"}, headers=v1_headers())
        session_id = created.json()["result"]["session_id"]
        tracemalloc.start()
        try:
            answer = requests.put(
                f"{LEGACY}{SESSIONS}/{session_id}",
                data=body(),
                headers=v1_headers(**{"x-filename": "big.wav", "Content-Type": "audio/wav"}),
            )
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"]["status"] == "uploaded"
    uploaded = sink_dir / "u1"
    assert uploaded.stat().st_size == blocks * len(block)
    digest = hashlib.sha256()
    with open(uploaded, "rb") as stored:
        for chunk in iter(lambda: stored.read(1 << 20), b""):
            digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha256(block * blocks).hexdigest()
    print(f"peak {peak / 2**20:.2f} MiB for a {blocks * len(block) / 2**20:.0f} MiB generator body")
    # The body is 16 MiB; the shim holds a few blocks (1 MiB spool reads, 256 KiB socket writes).
    assert peak < 4 << 20, f"peak {peak / 2**20:.1f} MiB"


# Concurrency ---------------------------------------------------------------------------------------


def test_eight_threads_run_the_legacy_program_through_one_installation(fake: FakeV3, tmp_path: Path) -> None:
    media = []
    for index in range(8):
        path = tmp_path / f"talk-{index}.wav"
        path.write_bytes(b"RIFF" + os.urandom(100 * 1024 + index))
        media.append(path)
    start = threading.Barrier(8)

    def run(index: int) -> Any:
        start.wait()
        return transcribe(LEGACY, f"token-{index}", media[index])

    with install(base_url=fake.base_url, legacy_base_url=LEGACY, **OPTIONS), ThreadPoolExecutor(8) as pool:
        runs = list(pool.map(run, range(8)))
    assert len({r.session_id for r in runs}) == 8
    for index, result in enumerate(runs):
        assert_golden_run(result)
        assert fake.sessions[result.session_id].token == f"token-{index}"
        (upload,) = [u for u in fake.uploads.values() if u.session_id == result.session_id]
        assert bytes(upload.data) == media[index].read_bytes()
        assert upload.token == f"token-{index}"
    assert fake.v1_calls == []


# install() itself ----------------------------------------------------------------------------------


def test_install_twice_shares_one_installation_until_every_handle_is_uninstalled(fake: FakeV3, wav: Path) -> None:
    first = install(base_url=fake.base_url, legacy_base_url=LEGACY, **OPTIONS)
    patched = vars(HTTPAdapter)["send"]
    second = install(base_url=fake.base_url, legacy_base_url=LEGACY + "/", **OPTIONS)
    assert second.translator is first.translator
    assert vars(HTTPAdapter)["send"] is patched
    with pytest.raises(ConfigurationError):
        install(base_url=fake.base_url, legacy_base_url="https://other.example", **OPTIONS)
    second.uninstall()
    second.uninstall()  # counted once
    assert vars(HTTPAdapter)["send"] is patched
    assert_golden_run(transcribe(LEGACY, TOKEN, wav))
    first.uninstall()
    assert vars(HTTPAdapter)["send"] is ORIGINAL_SEND


def test_install_as_a_context_manager_restores_even_on_error(fake: FakeV3) -> None:
    with pytest.raises(RuntimeError), install(base_url=fake.base_url, legacy_base_url=LEGACY, **OPTIONS) as handle:
        assert handle.installed and vars(HTTPAdapter)["send"] is not ORIGINAL_SEND
        assert "legacy_base_url='https://api.scriptix.io'" in repr(handle)
        raise RuntimeError("boom")
    assert not handle.installed
    assert vars(HTTPAdapter)["send"] is ORIGINAL_SEND


@pytest.mark.parametrize(
    ("options", "option"),
    [
        ({"api_key": TOKEN}, "api_key"),
        ({"legacy_base_url": "ftp://api.scriptix.io"}, "legacy_base_url"),
        ({"legacy_base_url": "https://user:secret@api.scriptix.io"}, "legacy_base_url"),
        ({"legacy_base_url": "https://api.scriptix.io?x=1"}, "legacy_base_url"),
        ({"chunk_size": 0}, "chunk_size"),
    ],
)
def test_bad_options_are_refused_and_nothing_is_patched(options: dict[str, Any], option: str) -> None:
    calls: list[Callable[[], InstallHandle]] = [
        lambda: install(**options),
        lambda: mount(requests.Session(), **options),
    ]
    for call in calls:
        with pytest.raises(ConfigurationError) as raised:
            call()
        assert raised.value.option == option
        assert "secret" not in str(raised.value)
        assert vars(HTTPAdapter)["send"] is ORIGINAL_SEND


def test_mount_needs_a_session() -> None:
    with pytest.raises(TypeError):
        mount(cast(Any, requests), legacy_base_url=LEGACY)


def test_the_shims_media_fetch_from_the_legacy_host_is_not_intercepted(fake: FakeV3, legacy_server: HTTPServer) -> None:
    legacy = root(legacy_server)
    media_url = f"{legacy}{SESSIONS}/abc/result"  # looks like a V1 call, but it is the shim's own download
    legacy_server.expect_oneshot_request(f"{SESSIONS}/abc/result").respond_with_data(RAW, content_type="audio/mpeg")
    options = {**OPTIONS, "allow_private_media": True}
    with install(base_url=fake.base_url, legacy_base_url=legacy, **options):
        answer = requests.post(
            f"{legacy}{SESSIONS}", json={"language": "en", "media_source": media_url}, headers=v1_headers()
        )
    assert answer.status_code == 200, answer.text
    assert [(r.method, r.path) for r, _ in legacy_server.log] == [("GET", f"{SESSIONS}/abc/result")]
    assert bytes(fake.only_upload().data) == RAW.encode()  # what the legacy host served, not a V1 answer
