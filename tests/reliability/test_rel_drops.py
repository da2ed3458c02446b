"""Connections dropped in the middle of PATCH bodies, at 20 seeded offsets of one upload.

A :class:`rel_helpers.CuttingProxy` stands between the shim and the emulator and cuts each chosen
offset once: the emulator keeps the bytes that arrived, the shim sees a reset connection. The
offsets include the edges (the very first byte, both sides of a chunk boundary, the last byte).
What must hold: the V1 call succeeds, every cut is resumed exactly where it was cut (the shim asks
the server's offset; nothing is sent twice, nothing is lost), one upload, one session.
"""

from __future__ import annotations

import random
from pathlib import Path

import requests
from rel_helpers import TOKEN, CuttingProxy, assert_one_complete_upload, bounded, legacy

from compat.emulator import Emulator
from compat.gateway import GatewayServer

SESSIONS = "/api/v3/speech-to-text/session"
FILES = "/api/v3/files"
CUTS = 20


def cut_offsets(seed: int, size: int, chunk: int) -> list[int]:
    """20 distinct offsets: the edges, and the rest drawn with ``seed``."""
    rng = random.Random(seed)
    picked = {0, chunk - 1, chunk, size - 1}
    while len(picked) < CUTS:
        picked.add(rng.randrange(1, size - 1))
    return sorted(picked)


def write_source(path: Path, seed: int, size: int) -> bytes:
    data = random.Random(seed).randbytes(size)
    path.write_bytes(data)
    return data


def assert_each_cut_resumed_exactly(proxy: CuttingProxy, cuts: list[int], size: int) -> None:
    assert proxy.done == cuts, f"cuts not made: {proxy.pending}"
    starts = {offset for method, _, offset in proxy.requests if method == "PATCH"}
    assert set(cuts) <= starts, f"not resumed at the cut: {sorted(set(cuts) - starts)}"
    assert proxy.patch_bytes == size, "bytes were sent twice (or lost)"
    assert proxy.count("POST", FILES) == 1, "a second upload was created"
    assert proxy.count("POST", SESSIONS) == 1


def test_legacy_client_upload_survives_20_drops(
    emu: Emulator, tmp_path: Path, seed: int, drop_case: tuple[int, int]
) -> None:
    size, chunk = drop_case
    data = write_source(tmp_path / "talk.wav", seed, size)
    cuts = cut_offsets(seed, size, chunk)
    with CuttingProxy(emu.url, cuts) as proxy:
        client = legacy(proxy.url, tmp_path / "state.sqlite3", chunk_size=chunk)
        session_id = client.create_session("en")["result"]["session_id"]
        answer, error, _ = bounded(60, lambda: client.upload(session_id, tmp_path / "talk.wav"))
    assert error is None, repr(error)
    assert answer is not None and answer["result"]["status"] == "uploaded"
    assert_each_cut_resumed_exactly(proxy, cuts, size)
    assert_one_complete_upload(emu, session_id, data)
    assert len(emu.sessions) == 1
    assert client.v3.store.pending_uploads() == []


def test_gateway_put_survives_20_drops_upstream(emu: Emulator, tmp_path: Path, seed: int) -> None:
    size, chunk = 512 * 1024 + 5, 32 * 1024
    data = write_source(tmp_path / "talk.wav", seed, size)
    cuts = cut_offsets(seed, size, chunk)
    auth = {"x-zoom-s2t-key": TOKEN}
    with (
        CuttingProxy(emu.url, cuts) as proxy,
        GatewayServer(
            proxy.url, store=tmp_path / "gateway.sqlite3", chunk_size=chunk, backoff_base=0.001, backoff_max=0.01
        ) as gateway,
    ):
        created = requests.post(gateway.url + SESSIONS, json={"language": "en"}, headers=auth, timeout=30)
        session_id = created.json()["result"]["session_id"]

        def put() -> requests.Response:
            with open(tmp_path / "talk.wav", "rb") as body:
                return requests.put(
                    f"{gateway.url}{SESSIONS}/{session_id}",
                    data=body,
                    headers={**auth, "Content-Type": "audio/wav", "x-filename": "talk.wav"},
                    timeout=60,
                )

        answer, error, _ = bounded(60, put)
    assert error is None, repr(error)
    assert answer is not None and answer.status_code == 200, answer.text if answer is not None else ""
    assert answer.json()["result"]["status"] == "uploaded"
    assert_each_cut_resumed_exactly(proxy, cuts, size)
    assert_one_complete_upload(emu, session_id, data)
