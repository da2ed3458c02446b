"""Item 10: error paths can be tested locally, and the emulator's V1 mode answers as the shim does.

One table of bad V1 inputs is sent twice: to the emulator's V1 mode (``Emulator(v1=True)``) and
through the shim (the gateway in front of the emulator's V3 mode, told the same tokens and
languages). Each row must get the same status and the same JSON from both.
"""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from compat.emulator import DEFAULT_LANGUAGES, DEFAULT_V1_TOKENS, Emulator
from compat.emulator.server import describe_access
from compat.gateway import GatewayServer

SESSIONS = "/api/v3/speech-to-text/session"
TOKEN = "parity-token"
OTHER = "parity-other"
UNKNOWN = "not-a-valid-token"
TOKENS = [TOKEN, OTHER]
JSON = {"Content-Type": "application/json"}
HOOK = "https://hooks.example.com/scriptix"  # what V1 accepts as a callback (HTTPS, a public name)


def wav_bytes(seconds: float = 0.5) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(bytes(int(seconds * 8000) * 2))
    return buffer.getvalue()


MEDIA = wav_bytes()


def key(token: str | None) -> dict[str, str]:
    return {} if token is None else {"x-zoom-s2t-key": token}


class Side:
    """One way of speaking V1: a base URL, and sessions made there by ``TOKEN``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()
        self.http.trust_env = False

    def call(self, method: str, path: str, token: str | None = TOKEN, **kwargs: Any) -> requests.Response:
        headers = {**key(token), **kwargs.pop("headers", {})}
        return self.http.request(method, self.url + SESSIONS + path, headers=headers, timeout=30, **kwargs)

    def session(self) -> str:
        created = self.call("POST", "", json={"language": "en"})
        assert created.status_code == 200, created.text
        session_id: str = created.json()["result"]["session_id"]
        return session_id

    def uploaded_session(self) -> str:
        session_id = self.session()
        put = self.call(
            "PUT", f"/{session_id}", data=MEDIA, headers={"Content-Type": "audio/wav", "x-filename": "a.wav"}
        )
        assert put.status_code == 200, put.text
        return session_id

    def deleted_session(self) -> str:
        session_id = self.session()
        assert self.call("DELETE", f"/{session_id}").status_code == 200
        return session_id


@pytest.fixture(scope="module")
def sides(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Side, Side]]:
    """(the emulator's V1 mode, the gateway in front of the emulator's V3 mode with the same lists)."""
    store = tmp_path_factory.mktemp("parity") / "state.sqlite3"
    with (
        Emulator(v1=True, tokens=TOKENS, processing_delay=0.05) as v1,
        Emulator(tokens=TOKENS, languages=DEFAULT_LANGUAGES, processing_delay=0.05) as v3,
        GatewayServer(v3.url, store=store, chunk_size=64 * 1024, backoff_base=0.001, drain_timeout=5.0) as gateway,
    ):
        yield Side(v1.url), Side(gateway.url)


@dataclass(frozen=True)
class Case:
    name: str
    send: Callable[[Side], requests.Response]


def create(body: Any = None, *, token: str | None = TOKEN, **kwargs: Any) -> Callable[[Side], requests.Response]:
    if body is not None:
        kwargs["json"] = body
    return lambda side: side.call("POST", "", token, **kwargs)


def upload(headers: dict[str, str], data: bytes = MEDIA) -> Callable[[Side], requests.Response]:
    return lambda side: side.call("PUT", f"/{side.session()}", data=data, headers=headers)


def align(files: dict[str, Any], **kwargs: Any) -> Callable[[Side], requests.Response]:
    return lambda side: side.call("POST", f"/{side.session()}/align", files=files, **kwargs)


AUDIO = {"Content-Type": "audio/wav", "x-filename": "a.wav"}
BIG = json.dumps({"language": "en", "meta_data": {"pad": "x" * 1024 * 1024}}).encode()
BOTH_PARTS = {"media_file": ("a.wav", MEDIA, "audio/wav"), "transcript_file": ("a.txt", b"hello", "text/plain")}

CASES = [
    # tokens
    Case("create without a token", create({"language": "en"}, token=None)),
    Case("create with an empty token", create({"language": "en"}, token="")),
    Case("create with an unknown token", create({"language": "en"}, token=UNKNOWN)),
    Case("result with an unknown token", lambda s: s.call("GET", "/0123456789abcdef/result", UNKNOWN)),
    Case("delete without a token", lambda s: s.call("DELETE", f"/{s.session()}", None)),
    Case("upload without a token", lambda s: s.call("PUT", f"/{s.session()}", None, data=MEDIA, headers=AUDIO)),
    # an unknown token on a session the shim's store knows under another token: upstream decides
    Case("delete with an unknown token", lambda s: s.call("DELETE", f"/{s.session()}", UNKNOWN)),
    Case(
        "upload with an unknown token",
        lambda s: s.call("PUT", f"/{s.session()}", UNKNOWN, data=MEDIA, headers=AUDIO),
    ),
    Case("align with an unknown token", lambda s: s.call("POST", f"/{s.session()}/align", UNKNOWN, files=BOTH_PARTS)),
    # languages
    Case("an unknown language", create({"language": "xx"})),
    Case("an unknown regional language", create({"language": "tlh-KL"})),
    Case("a missing language", create({"punctuation": True})),
    Case("an empty language", create({"language": ""})),
    Case("a language that is not a string", create({"language": 7})),
    Case("a language with control characters", create({"language": "en\n"})),
    Case("a language too long", create({"language": "e" * 65})),
    # the create body
    Case("malformed JSON", create(data=b'{"language": ', headers=JSON)),
    Case("JSON that is not UTF-8", create(data=b'{"language": "\xff\xfe"}', headers=JSON)),
    Case("an empty JSON body", create(data=b"", headers=JSON)),
    Case("a body that is not JSON (text/plain)", create(data=b"language=en", headers={"Content-Type": "text/plain"})),
    Case("a form body", create(data={"language": "en"})),
    Case("a JSON array", create(["en"])),
    # over 1 MiB: V1's create lists no 413, so both answer 422 (MIGRATION.md)
    Case("a create body over 1 MiB", create(data=BIG, headers=JSON)),
    Case("a chunked create body over 1 MiB", lambda s: s.call("POST", "", data=iter([BIG]), headers=JSON)),
    Case("a boolean that is a string", create({"language": "en", "punctuation": "yes"})),
    Case("meta_data that is not an object", create({"language": "en", "meta_data": ["a"]})),
    Case("meta_data with a number", create({"language": "en", "meta_data": {"a": 1}})),
    Case("document that is not an object", create({"language": "en", "document": "caption"})),
    Case("media_source that is not http(s)", create({"language": "en", "media_source": "ftp://host/a.wav"})),
    Case("webhook_method GET", create({"language": "en", "webhook_url": HOOK, "webhook_method": "GET"})),
    Case("webhook_method without webhook_url", create({"language": "en", "webhook_method": "POST"})),
    Case("webhook_headers without webhook_url", create({"language": "en", "webhook_headers": ["X-A: b"]})),
    Case("webhook_url that is not http(s)", create({"language": "en", "webhook_url": "ftp://host/x"})),
    Case("webhook_url with a space", create({"language": "en", "webhook_url": "http://exa mple.com/x"})),
    Case("webhook_headers not a list", create({"language": "en", "webhook_url": HOOK, "webhook_headers": "X-A: b"})),
    Case("a webhook header without a colon", create({"language": "en", "webhook_url": HOOK, "webhook_headers": ["A"]})),
    Case(
        "a webhook header with CR/LF",
        create({"language": "en", "webhook_url": HOOK, "webhook_headers": ["X-A: b\r\nX-B: c"]}),
    ),
    Case("a webhook header that is a number", create({"language": "en", "webhook_url": HOOK, "webhook_headers": [5]})),
    Case("callback_url and webhook_url both", create({"language": "en", "callback_url": HOOK, "webhook_url": HOOK})),
    Case("callback_method GET", create({"language": "en", "callback_url": HOOK, "callback_method": "GET"})),
    Case("an unknown document_type", create({"language": "en", "document": {"document_type": "video"}})),
    Case("a bad webhook in document", create({"language": "en", "document": {"webhook_url": "ftp://x"}})),
    # sessions
    Case("result of an unknown session", lambda s: s.call("GET", "/0123456789abcdef/result")),
    Case("result of a malformed session id", lambda s: s.call("GET", "/bad$id/result")),
    Case("result of another token's session", lambda s: s.call("GET", f"/{s.session()}/result", OTHER)),
    Case("result of a deleted session", lambda s: s.call("GET", f"/{s.deleted_session()}/result")),
    Case("delete of an unknown session", lambda s: s.call("DELETE", "/0123456789abcdef")),
    Case("delete of another token's session", lambda s: s.call("DELETE", f"/{s.session()}", OTHER)),
    Case("a second delete", lambda s: s.call("DELETE", f"/{s.deleted_session()}")),
    # uploads
    Case("upload that is not audio or video", upload({"Content-Type": "text/plain", "x-filename": "a.txt"})),
    Case("upload without a content type", upload({"x-filename": "a.wav"})),
    Case("upload with a path as x-filename", upload({"Content-Type": "audio/wav", "x-filename": "../a.wav"})),
    Case("upload with a C1 control in x-filename", upload({"Content-Type": "audio/wav", "x-filename": "a\x85b.wav"})),
    Case(
        "upload with a UTF-8 C1 control in x-filename",
        upload({"Content-Type": "audio/wav", "x-filename": "a\u0085b.wav".encode()}),  # type: ignore[dict-item]
    ),
    Case(
        "align whose media file name has a C1 control",
        align({"media_file": ("a\x9b.wav", MEDIA, "audio/wav"), "transcript_file": ("a.txt", b"x", "text/plain")}),
    ),
    Case("upload with an empty body", upload(AUDIO, data=b"")),
    Case("upload to an unknown session", lambda s: s.call("PUT", "/0123456789abcdef", data=MEDIA, headers=AUDIO)),
    Case(
        "upload to another token's session",
        lambda s: s.call("PUT", f"/{s.session()}", OTHER, data=MEDIA, headers=AUDIO),
    ),
    # Other media: the same bytes again are a retry, which the shim answers 200 (MIGRATION.md).
    Case(
        "a second upload",
        lambda s: s.call("PUT", f"/{s.uploaded_session()}", data=MEDIA + b"\0" * 64, headers=AUDIO),
    ),
    # align
    Case("align that is not multipart", align({}, json={"media_file": "a.wav"})),
    Case("align without the transcript", align({"media_file": ("a.wav", MEDIA, "audio/wav")})),
    Case(
        "align whose media is text",
        align({"media_file": ("a.txt", b"x", "text/plain"), "transcript_file": ("a.txt", b"x", "text/plain")}),
    ),
    Case(
        "align on another token's session",
        lambda s: s.call("POST", f"/{s.session()}/align", OTHER, files=BOTH_PARTS),
    ),
]


def answer(response: requests.Response) -> tuple[int, Any]:
    try:
        return response.status_code, response.json()
    except ValueError:
        return response.status_code, response.text


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_the_emulator_v1_mode_and_the_shim_answer_a_bad_input_alike(sides: tuple[Side, Side], case: Case) -> None:
    v1, shim = sides
    expected = answer(case.send(v1))
    assert 400 <= expected[0] < 500 and isinstance(expected[1], dict) and set(expected[1]) == {"error"}
    assert answer(case.send(shim)) == expected


GOLDEN = Path(__file__).parents[1] / "golden" / "v1"


@pytest.mark.parametrize(
    ("name", "golden"),
    [
        ("create without a token", "error_401"),
        ("create with an unknown token", "error_401"),
        ("malformed JSON", "error_415_not_json"),
    ],
)
def test_the_answers_are_the_golden_ones(sides: tuple[Side, Side], name: str, golden: str) -> None:
    case = next(case for case in CASES if case.name == name)
    for side in sides:
        assert case.send(side).text == (GOLDEN / f"{golden}.json").read_text().strip()


def test_a_create_body_over_1_mib_is_the_v1_422_on_both(sides: tuple[Side, Side]) -> None:
    for side in sides:
        for data in (BIG, iter([BIG])):
            assert answer(side.call("POST", "", data=data, headers=JSON)) == (
                422,
                {"error": "Body Invalid: the body is larger than 1 MiB"},
            )


def test_a_delete_answers_the_same_json_on_both(sides: tuple[Side, Side]) -> None:
    answers = []
    for side in sides:
        session_id = side.uploaded_session()
        deleted = side.call("DELETE", f"/{session_id}")
        assert deleted.status_code == 200
        answers.append(deleted.text.replace(session_id, "<session_id>"))
    assert answers[0] == answers[1] == (GOLDEN / "delete.json").read_text().strip()


def test_an_unknown_token_on_a_known_session_is_401_on_both(sides: tuple[Side, Side]) -> None:
    v1, shim = sides
    assert answer(shim.call("GET", f"/{shim.session()}/result", UNKNOWN)) == answer(
        v1.call("GET", f"/{v1.session()}/result", UNKNOWN)
    )


def test_an_insecure_webhook_url_is_refused_on_both(sides: tuple[Side, Side]) -> None:
    body = {"language": "en", "webhook_url": "http://127.0.0.1:9/hook"}
    v1, shim = sides
    assert answer(shim.call("POST", "", json=body)) == answer(v1.call("POST", "", json=body))


INSECURE = [
    "http://hooks.example.com/done",
    "https://localhost/done",
    "https://api.localhost./done",
    "https://box.localdomain/done",
    "https://127.1/done",
    "https://0x7f.1/done",
    "https://[::1]/done",
    "https://\u24db\u24de\u24d2\u24d0\u24db\u24d7\u24de\u24e2\u24e3/done",  # IDNA look-alike of localhost
]
WHERE: dict[str, Callable[[str], dict[str, Any]]] = {
    "webhook_url": lambda url: {"language": "en", "webhook_url": url},
    "callback_url": lambda url: {"language": "en", "callback_url": url},
    "document.webhook_url": lambda url: {"language": "en", "document": {"webhook_url": url}},
    "document.webhook_url beside a good one": lambda url: {
        "language": "en",
        "webhook_url": HOOK,
        "document": {"webhook_url": url},
    },
    "webhook_url before a bad method": lambda url: {"language": "en", "webhook_url": url, "webhook_method": "GET"},
}


@pytest.mark.parametrize("where", list(WHERE))
@pytest.mark.parametrize("url", INSECURE)
def test_v1_mode_refuses_what_the_shim_refuses_in_its_words(sides: tuple[Side, Side], url: str, where: str) -> None:
    v1, shim = sides
    body = WHERE[where](url)
    expected = answer(shim.call("POST", "", json=body))
    assert expected[0] == 422 and "allow_insecure_webhooks=True" in expected[1]["error"]
    assert answer(v1.call("POST", "", json=body)) == expected


def test_allow_insecure_webhooks_lets_v1_mode_call_a_local_receiver() -> None:
    url = "http://127.0.0.1:9/hook"
    with Emulator(v1=True, tokens=TOKENS, allow_insecure_webhooks=True) as emu:
        created = Side(emu.url).call("POST", "", json={"language": "en", "webhook_url": url})
        assert created.status_code == 200, created.text
        assert emu.session(created.json()["result"]["session_id"]).webhook_url == url
    with Emulator(v1=True, tokens=TOKENS, allow_insecure_webhooks=True) as emu:
        refused = Side(emu.url).call("POST", "", json={"language": "en", "webhook_url": "ftp://127.0.0.1/x"})
        assert answer(refused) == (422, {"error": "Body Invalid: 'webhook_url' must be an http(s) URL"})


def test_the_v3_mode_still_accepts_a_local_webhook() -> None:
    with Emulator(tokens=TOKENS) as emu:
        created = Side(emu.url).call("POST", "", json={"language": "en", "webhook_url": "http://127.0.0.1:9/hook"})
        assert created.status_code == 200, created.text


def test_the_emulator_command_takes_allow_insecure_webhooks() -> None:
    body = {"language": "en", "webhook_url": "https://localhost/hook"}
    for url, _ in _cli_emulator("--v1", "--token", TOKEN):
        assert Side(url).call("POST", "", json=body).status_code == 422
    for url, _ in _cli_emulator("--v1", "--token", TOKEN, "--allow-insecure-webhooks"):
        assert Side(url).call("POST", "", json=body).status_code == 200


# the lists themselves --------------------------------------------------------------------------


def test_v1_mode_accepts_its_default_tokens_and_languages_and_refuses_others() -> None:
    with Emulator(v1=True) as emu:
        assert describe_access(emu.options).startswith(
            "accepting tokens test-token, other-token (the V1-mode defaults); languages ar, cs, da, de"
        )
        side = Side(emu.url)
        assert DEFAULT_V1_TOKENS == ("test-token", "other-token")
        for token in DEFAULT_V1_TOKENS:
            assert side.call("POST", "", token, json={"language": "en"}).status_code == 200
        refused = side.call("POST", "", "any-token", json={"language": "en"})
        assert answer(refused) == (401, {"error": "Unauthorized: the x-zoom-s2t-key header is missing or invalid"})
        for language in ("en", "EN", "en-US", "en_gb", "nl-nl", "de", "zh"):
            assert side.call("POST", "", "test-token", json={"language": language}).status_code == 200, language
        unknown = side.call("POST", "", "test-token", json={"language": "xx-xx"})
        assert answer(unknown) == (400, {"error": "Invalid language: 'xx-xx' is not an available language"})


def test_the_lists_are_settable_and_v3_mode_accepts_anything_unless_told() -> None:
    with Emulator() as open_emu, Emulator(tokens=["mine"], languages=["nl-BE"]) as strict_emu:
        anything = Side(open_emu.url)
        assert anything.call("POST", "", "whatever", json={"language": "tlh"}).status_code == 200
        strict = Side(strict_emu.url)
        assert strict.call("POST", "", "whatever", json={"language": "nl-be"}).status_code == 401
        assert strict.call("POST", "", "mine", json={"language": "nl-be"}).status_code == 200
        assert strict.call("POST", "", "mine", json={"language": "nl"}).status_code == 400  # nl-BE does not cover nl
        tus = {"Tus-Resumable": "1.0.0", "Upload-Length": "4", **key("mine")}
        from compat.emulator import encode_metadata

        metadata = {"language": "fr", "document_type": "caption", "filename": "a.wav", "filetype": "audio/wav"}
        refused = requests.post(
            strict_emu.url + "/api/v3/files/", headers={**tus, "Upload-Metadata": encode_metadata(metadata)}
        )
        assert answer(refused) == (400, {"error": "Invalid language: 'fr' is not an available language"})
    with Emulator(v1=True, tokens="any", languages="any") as loose_emu:
        loose = Side(loose_emu.url)
        assert loose.call("POST", "", "whatever", json={"language": "tlh"}).status_code == 200


@pytest.mark.scriptix_emulator(v1=True, tokens=["from-the-marker"], languages=["is"])
def test_the_pytest_marker_takes_the_lists(scriptix_emulator: Emulator) -> None:
    side = Side(scriptix_emulator.url)
    assert side.call("POST", "", "test-token", json={"language": "is"}).status_code == 401
    assert side.call("POST", "", "from-the-marker", json={"language": "is"}).status_code == 200
    assert side.call("POST", "", "from-the-marker", json={"language": "en"}).status_code == 400


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"tokens": "test-token"}, "tokens must be a list"),
        ({"tokens": ["has space"]}, "tokens must be printable"),
        ({"languages": [""]}, "languages must be printable"),
        ({"languages": 7}, "languages must be a list"),
    ],
)
def test_bad_lists_are_refused_at_construction_without_echoing_a_token(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        Emulator(**options)
    assert "has space" not in str(caught.value) and "test-token" not in str(caught.value)


def test_the_tokens_stay_out_of_the_options_repr() -> None:
    assert "secret-test-token" not in repr(Emulator(tokens=["secret-test-token"]).options)


def _cli_emulator(*args: str) -> Iterator[tuple[str, str]]:
    """``scriptix-compat emulator ARGS`` in a subprocess: (its URL, its start-up lines)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "compat.cli", "emulator", "--listen", f"127.0.0.1:{port}", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = process.stdout.readline() + process.stdout.readline()
        yield f"http://127.0.0.1:{port}", lines
    finally:
        process.terminate()
        process.wait(10)


def test_the_command_line_takes_the_lists() -> None:
    for url, lines in _cli_emulator("--v1", "--token", "cli-one", "--token", "cli-two", "--languages", "en, nl"):
        assert "accepting 2 given token(s); languages en, nl" in lines
        assert "cli-one" not in lines  # given tokens are counted, not shown
        side = Side(url)
        assert side.call("POST", "", "cli-two", json={"language": "nl-NL"}).status_code == 200
        assert side.call("POST", "", "test-token", json={"language": "nl"}).status_code == 401
        assert side.call("POST", "", "cli-one", json={"language": "de"}).status_code == 400
    for url, lines in _cli_emulator("--v1", "--any-token", "--languages", "any"):
        assert "accepting any token; any language" in lines
        assert Side(url).call("POST", "", "whatever", json={"language": "tlh"}).status_code == 200
