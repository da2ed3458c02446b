"""The translator under arbitrary V1 input: it translates, or it refuses with a V1 4xx and a JSON
``error`` having sent nothing upstream; never an unhandled exception, never a 5xx.

Create: any JSON value as the body, any token. Upload: any token, session id, ``Content-Type``,
``x-filename``, ``Content-Length`` and body. A ``media_source`` is never fetched from outside
loopback (the network is a NetGuard), so a create that names one is always refused.
"""

from __future__ import annotations

import io
from typing import Any

from fake_v3 import FakeV3
from hypothesis import example, given
from hypothesis import strategies as st
from prop_strategies import header_values, session_ids, v1_bodies
from sec_helpers import TOKEN, NetGuard

from compat import LegacyClient, ScriptixError

tokens = st.one_of(st.none(), st.just(TOKEN), st.text(max_size=20))


def translator_for(fake: FakeV3, net: NetGuard) -> Any:
    net.names.update({"media.example": ["127.0.0.2"], "internal.example": ["127.0.0.1"]})
    return LegacyClient(api_key=TOKEN, base_url=fake.base_url, store=":memory:", timeout=5).translator


def assert_v1_refusal(error: ScriptixError) -> None:
    assert error.status_code is not None and 400 <= error.status_code < 500, repr(error)
    assert isinstance(error.body, dict) and isinstance(error.body.get("error"), str) and error.body["error"]


@given(body=v1_bodies, token=tokens)
@example(body={"language": "en"}, token="\u0100-token")  # a token no HTTP header can carry (not latin-1)
@example(body={"language": ["en"]}, token=TOKEN)
def test_any_create_body_is_translated_or_refused_with_a_v1_4xx(
    fake: FakeV3, net: NetGuard, body: Any, token: str | None
) -> None:
    translator = translator_for(fake, net)
    before = len(fake.requests)
    try:
        answer = translator.create_session(token, body)
    except ScriptixError as error:
        assert_v1_refusal(error)
        assert len(fake.requests) == before, f"refused ({error.status_code}) after going upstream"
        return
    result = answer["result"]
    assert set(answer) == {"count", "total_results", "result"} and result["session_id"] in fake.sessions
    assert body.get("media_source") is None, "a media_source from outside loopback cannot have been fetched"
    assert len(fake.requests) == before + 1 and fake.v1_calls == []


@given(
    token=tokens,
    owned=st.booleans(),
    other_id=session_ids,
    content_type=st.one_of(
        st.none(), st.sampled_from(["audio/wav", "video/mp4", "audio/", "text/plain"]), header_values
    ),
    filename=st.one_of(st.none(), st.just("talk.wav"), header_values),
    data=st.binary(max_size=2000),
    declared=st.one_of(st.none(), st.integers(-5, 3000)),
)
@example(  # a session created elsewhere, asked upstream with a token no HTTP header can carry
    token="\u0100", owned=False, other_id="0", content_type="audio/wav", filename="a.wav", data=b"RIFF", declared=4
)
def test_any_upload_is_translated_or_refused_with_a_v1_4xx(
    fake: FakeV3,
    net: NetGuard,
    token: str | None,
    owned: bool,
    other_id: str,
    content_type: str | None,
    filename: str | None,
    data: bytes,
    declared: int | None,
) -> None:
    translator = translator_for(fake, net)
    session_id = translator.create_session(TOKEN, {"language": "en"})["result"]["session_id"] if owned else other_id
    before, uploads = len(fake.requests), dict(fake.uploads)
    try:
        answer = translator.upload(
            token, session_id, io.BytesIO(data), content_type=content_type, filename=filename, content_length=declared
        )
    except ScriptixError as error:
        assert_v1_refusal(error)
        assert fake.uploads == uploads, "a refused upload left an upload upstream"
        assert not any(r[0] == "PATCH" and r[2] for r in fake.requests[before:]), "bytes went up for a refused call"
        if owned and data:
            assert len(fake.requests) == before, f"refused ({error.status_code}) after going upstream"
        return
    assert answer["result"]["status"] == "uploaded" and answer["result"]["session_id"] == session_id
    [new] = [u for key, u in fake.uploads.items() if key not in uploads]
    assert bytes(new.data) == data and new.metadata["session_id"] == session_id
