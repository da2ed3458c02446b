"""Issue 13: members of a fleet share one store and behave as one. Here the members are
``LegacyClient`` processes (the gateway replicas' variant reuses ``tests/fleet_processes.py``).

A session created through member A with punctuation, ``keep_source``, ``multichannel``, a V1
``document`` and webhook settings, and uploaded through member B: the TUS metadata B sends carries
every option, because A sealed them into the shared store and B opened them there with the token.
Run on PostgreSQL (the fleet's store) and, for comparison, on a SQLite file two processes share.
"""

from __future__ import annotations

import os
from pathlib import Path

from fake_v3 import FakeV3
from fleet_processes import FLEET_OPTIONS, LegacyProcess, upload_problems
from pytest_httpserver import HTTPServer
from store_backends import Backend

TOKEN = "fleet-member-token-5b17c2"
CHUNK = 64 * 1024


def test_a_session_created_through_one_member_is_uploaded_through_another_with_every_option(
    httpserver: HTTPServer, tmp_path: Path, store_backend: Backend
) -> None:
    fake = FakeV3(httpserver, token=TOKEN)
    media = tmp_path / "talk.wav"
    data = os.urandom(3 * CHUNK + 17)
    media.write_bytes(data)
    a = LegacyProcess(fake.base_url, store_backend.value, token=TOKEN, chunk_size=CHUNK)
    b = LegacyProcess(fake.base_url, store_backend.value, token=TOKEN, chunk_size=CHUNK)
    try:
        created = a.create_session("en", **FLEET_OPTIONS)
        assert created["status"] == 200, created
        session_id = created["answer"]["result"]["session_id"]
        b.arm(session_id, media)
        b.go()
        answer = b.message()
        assert answer["status"] == 200, answer
        assert answer["answer"]["result"]["status"] == "uploaded"
    finally:
        a.stop()
        b.stop()
    assert upload_problems(fake, session_id, data, FLEET_OPTIONS) == []
    assert fake.count("POST", "tus-create") == 1 and fake.v1_calls == []
