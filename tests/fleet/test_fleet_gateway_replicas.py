"""Issue 13: two gateway replicas on one PostgreSQL store behave as one.

A session created through replica A with punctuation, ``keep_source``, ``multichannel``, a V1
``document`` and webhook settings, and PUT through replica B: the TUS metadata B sends carries every
option. B never saw the create: it finds the session, its owner and its sealed options in the shared
store (without it, B would ask V3, which gives back the language alone). The ``LegacyClient``
variant is ``test_fleet_legacy_clients.py``.
"""

from __future__ import annotations

import os

import requests
from fake_v3 import FakeV3
from fleet_processes import FLEET_OPTIONS, SESSIONS, TIMEOUT, Gateway, upload_problems
from pytest_httpserver import HTTPServer

TOKEN = "fleet-replica-token-9d41a7"
CHUNK = 64 * 1024
AUTH = {"x-zoom-s2t-key": TOKEN}


def test_a_session_created_through_replica_a_is_put_through_replica_b_with_every_option(
    upstream: HTTPServer, postgres_url: str
) -> None:
    fake = FakeV3(upstream, token=TOKEN)
    data = os.urandom(3 * CHUNK + 17)
    replica_a = Gateway(fake.base_url, postgres_url, chunk_size=CHUNK)
    replica_b = Gateway(fake.base_url, postgres_url, chunk_size=CHUNK)
    try:
        created = requests.post(
            f"{replica_a.url}{SESSIONS}", json={"language": "en", **FLEET_OPTIONS}, headers=AUTH, timeout=TIMEOUT
        )
        assert created.status_code == 200, created.text
        session_id = created.json()["result"]["session_id"]
        put = requests.put(
            f"{replica_b.url}{SESSIONS}/{session_id}",
            data=data,
            headers={**AUTH, "x-filename": "talk.wav", "Content-Type": "audio/wav"},
            timeout=TIMEOUT,
        )
        assert put.status_code == 200, put.text
        assert put.json()["result"]["status"] == "uploaded"
        again = requests.put(
            f"{replica_a.url}{SESSIONS}/{session_id}",
            data=os.urandom(len(data)),
            headers={**AUTH, "x-filename": "talk.wav", "Content-Type": "audio/wav"},
            timeout=TIMEOUT,
        )
        assert again.status_code == 400, again.text  # A knows from the store that the media is up
    finally:
        replica_a.stop()
        replica_b.stop()
    assert upload_problems(fake, session_id, data, FLEET_OPTIONS) == []
    assert fake.count("POST", "session-create") == 1 and fake.count("POST", "tus-create") == 1
    assert fake.v1_calls == []
