"""The Zoom Media upload under arbitrary bodies (hypothesis): a 200 or a Zoom Media 4xx, never a 5xx or an
exception, and nothing upstream unless the body held a usable ``upload`` part."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_v3 import FakeV3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from werkzeug.test import Client
from zm_helpers import TOKEN

from compat.gateway import make_app

BOUNDARY = "b0undary"
DISPOSITIONS = [
    'form-data; name="upload"; filename="talk.wav"',
    'form-data; name="upload"; filename="C:/x/../talk.wav"',
    'form-data; name="upload"',
    'form-data; name="upload"; filename=""',
    'form-data; name="media"; filename="x.wav"',
    'form-data; name="language"',
    "attachment",
    None,
]
NOISE = ["", "\r\n", "--", "\x00\xff", f"--{BOUNDARY}", "RIFF"]


@st.composite
def multipart_bodies(draw: st.DrawFn) -> bytes:
    """Mostly well-formed multipart bodies, with one or more parts, and now and then a defect."""
    out = draw(st.sampled_from(["", "preamble\r\n"]))
    for _ in range(draw(st.integers(0, 4))):
        disposition = draw(st.sampled_from(DISPOSITIONS))
        out += f"--{BOUNDARY}\r\n"
        if disposition is not None:
            out += f"Content-Disposition: {disposition}\r\n"
        out += draw(st.sampled_from(["", "Content-Type: audio/wav\r\n", "Content-Type: text/plain\r\n"]))
        out += "\r\n" + draw(st.sampled_from(["", "RIFF....WAVE", "x" * 3000])) + "\r\n"
    out += draw(st.sampled_from([f"--{BOUNDARY}--\r\n", f"--{BOUNDARY}--", ""]))
    if draw(st.integers(0, 3)) == 0:  # a defect now and then: noise at the end, or the body cut off
        raw = out.encode("latin-1") + draw(st.sampled_from(NOISE)).encode("latin-1")
        return raw[: draw(st.integers(0, len(raw)))]
    return out.encode("latin-1")


bodies = st.one_of(multipart_bodies(), multipart_bodies(), st.binary(max_size=200))
content_types = st.sampled_from(
    [
        *[f"multipart/form-data; boundary={BOUNDARY}"] * 6,
        f'multipart/form-data; boundary="{BOUNDARY}"',
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=other",
        "application/json",
        "text/plain",
        "",
    ]
)


@pytest.fixture(params=[False, True], ids=["spooled", "deferred-length"])
def gateway(httpserver: HTTPServer, request: pytest.FixtureRequest) -> Iterator[tuple[Client, FakeV3]]:
    fake = FakeV3(httpserver, token=TOKEN, defer_length=request.param)
    app = make_app(fake.base_url, store=":memory:", timeout=5, max_retries=1, backoff_base=0.001)
    yield Client(app), fake
    app.close()


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies, content_type=content_types)
def test_any_upload_body_is_answered_never_a_5xx(
    gateway: tuple[Client, FakeV3], body: bytes, content_type: str
) -> None:
    client, fake = gateway
    created = client.post(
        "/api/v2/speech-to-text/session", json={"language": "en-us"}, headers={"X-Zoom-S2T-Key": TOKEN}
    )
    session_id = created.json["zoom_id"]
    headers = {"X-Zoom-S2T-Key": TOKEN, **({"Content-Type": content_type} if content_type else {})}
    answer = client.post(f"/api/v2/speech-to-text/session/{session_id}", data=body, headers=headers)
    assert answer.status_code in (200, 400, 413, 415, 422), answer.get_data(as_text=True)
    mine = [u for u in fake.uploads.values() if u.session_id == session_id]
    if answer.status_code != 200:
        assert set(answer.json) == {"error", "error_message"}
        assert not any(u.complete for u in mine)  # a refused body never gives the session media
    else:
        assert [u.complete for u in mine] == [True]
