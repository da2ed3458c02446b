"""Many clients at once: 16 concurrent 50 MiB uploads through V3Client arrive byte for byte."""

from __future__ import annotations

import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from emu_helpers import MIB, TOKEN, metadata_header, sha256_of, tus, write_random

from compat import UploadResult, V3Client
from compat.emulator import Emulator

UPLOADS = 16
SIZE = 50 * MIB


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Path]:
    """``tmp_path``, emptied afterwards: pytest keeps old tmp dirs, and these files are large."""
    yield tmp_path
    for path in tmp_path.iterdir():
        path.unlink()


def test_sixteen_concurrent_50mib_uploads(scratch: Path) -> None:
    tmp_path = scratch
    files = [write_random(tmp_path / f"media-{n:02d}.bin", SIZE) for n in range(UPLOADS)]
    results: dict[int, UploadResult] = {}
    errors: list[BaseException] = []

    def upload(number: int) -> None:
        try:
            with V3Client(api_key=TOKEN, base_url=emu.url, store=":memory:", timeout=60) as client:
                metadata = {"language": "en", "document_type": "caption", "filename": files[number].name}
                results[number] = client.upload(files[number], metadata)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    with Emulator(processing_delay=0.1) as emu:
        started = time.monotonic()
        threads = [threading.Thread(target=upload, args=(n,)) for n in range(UPLOADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        elapsed = time.monotonic() - started
        assert not errors, errors
        assert len(results) == UPLOADS
        session_ids = {result.session_id for result in results.values()}
        assert len(session_ids) == UPLOADS and None not in session_ids
        for number, result in results.items():
            stored = emu.upload(result.upload_url)
            assert stored.complete and stored.offset == SIZE
            assert sha256_of(stored.path) == sha256_of(files[number])
            assert emu.session(stored.session_id).sha256 == sha256_of(files[number])
    print(f"16 x 50 MiB concurrent uploads: {elapsed:.1f} s ({UPLOADS * SIZE / MIB / elapsed:.0f} MiB/s)")


def test_a_large_patch_is_streamed_to_disk_in_blocks(scratch: Path) -> None:
    """The emulator never holds a body in memory: peak traced memory stays far below the body size."""
    tmp_path = scratch
    media = write_random(tmp_path / "big.bin", 48 * MIB)
    with Emulator(processing_delay=0.05) as emu:
        created = requests.post(
            emu.url + "/api/v3/files/",
            headers=tus(Upload_Length=str(48 * MIB), Upload_Metadata=metadata_header(filename="big.bin")),
        )
        tracemalloc.start()
        try:
            with open(media, "rb") as body:
                answer = requests.patch(
                    created.headers["Location"],
                    data=body,
                    headers=tus(Upload_Offset="0", Content_Type="application/offset+octet-stream"),
                )
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert answer.status_code == 204 and answer.headers["Upload-Offset"] == str(48 * MIB)
        assert sha256_of(emu.upload(created.headers["Location"]).path) == sha256_of(media)
    assert peak < 4 * MIB, f"peak {peak / MIB:.1f} MiB for a 48 MiB body"
