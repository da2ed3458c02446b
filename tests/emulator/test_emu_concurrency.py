"""Many clients at once: 16 concurrent 50 MiB uploads through V3Client arrive byte for byte."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from emu_helpers import MIB, TOKEN, sha256_of, write_random

from compat import UploadResult, V3Client
from compat.emulator import Emulator

UPLOADS = 16
SIZE = 50 * MIB


def test_sixteen_concurrent_50mib_uploads(tmp_path: Path) -> None:
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
