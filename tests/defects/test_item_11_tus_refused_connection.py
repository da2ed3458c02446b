"""Item 11 (part): a connection refused in the middle of a TUS upload speaks as the transport does.

The uploader retries its PATCH and HEAD itself (the transport makes one attempt each), so the
transport's words for a host that does not accept connections were missing: no WARNING at the
first retry, and a final error without the host or what to check. Now the same
:meth:`Transport.warn_unreachable` and :meth:`Transport.unreachable_error` say both.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from fake_v3 import FakeV3
from pytest_httpserver import HTTPServer

from compat import UploadError, V3Client
from compat.v3.tus.endpoint import TusEndpoint

TOKEN = "item11-tus-token-8c2a"
CHUNK = 64 * 1024
METADATA = {"language": "en", "document_type": "caption"}


@pytest.fixture
def server() -> Iterator[HTTPServer]:
    """A server of this test's own: it is stopped halfway through the upload."""
    own = HTTPServer(host="127.0.0.1", port=0)
    own.start()
    yield own
    own.clear()
    if own.is_running():
        own.stop()


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "compat.http" and r.levelno == logging.WARNING]


def test_a_refused_connection_mid_upload_warns_once_and_ends_with_the_transports_error(
    server: HTTPServer, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeV3(server, token=TOKEN)
    origin = fake.base_url
    media = tmp_path / "talk.wav"
    media.write_bytes(os.urandom(4 * CHUNK))
    patch = TusEndpoint.patch

    def patch_then_stop(self: TusEndpoint, *args: Any, **kwargs: Any) -> requests.Response:
        answer = patch(self, *args, **kwargs)
        if server.is_running():
            server.stop()  # the first chunk is in; the server is gone, its port closed
        return answer

    monkeypatch.setattr(TusEndpoint, "patch", patch_then_stop)
    caplog.set_level(logging.WARNING, logger="compat.http")
    client = V3Client(
        api_key=TOKEN, base_url=origin, store=":memory:", chunk_size=CHUNK, max_retries=3, backoff_base=0.001
    )
    with client, pytest.raises(UploadError) as caught:
        client.upload(media, METADATA)
    message = str(caught.value)
    assert f"upload stopped at byte {CHUNK} of {4 * CHUNK}" in message
    assert "Connection refused" in message and f"no connection to {origin}" in message
    assert "4 attempts" in message and "SCRIPTIX_BASE_URL" in message  # the transport's final words
    assert caught.value.upload_url is not None  # resumable: run the same upload again
    warned = warnings_of(caplog)
    assert len(warned) == 1  # at the first failure, not at each
    assert warned[0].startswith(f"scriptix-compat: cannot connect to {origin} (Connection refused)")
    assert "SCRIPTIX_BASE_URL" in warned[0]
