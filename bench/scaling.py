"""Parallel uploads, in a fresh process: ``python -m bench.worker scaling {gateway,direct} --parallel N ...``.

``N`` uploads of the same file start together (a barrier) from ``N`` threads:

``gateway``
    each thread creates a session through a gateway (before the barrier), then sends a V1 ``PUT``
    of the file with its own ``requests.Session``; ``--url`` may name several gateways (comma-
    separated: replicas), thread ``i`` uses the ``i % n``-th; the time its first body block was
    read (the client starts sending the body) is recorded per upload;
``direct``
    each thread has its own ``compat.LegacyClient`` (default settings, one store file), creates its
    session (before the barrier), then ``upload(session_id, path)``: the same V1 upload made
    directly from Python.

The aggregate time runs from the barrier to the last upload's end. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import SESSIONS_PATH, TOKEN, FirstRead, emit, proc_status_kib


def main(argv: list[str]) -> int:
    """Run ``--parallel`` uploads at once and print one JSON line."""
    parser = argparse.ArgumentParser(description="parallel uploads (run by bench/run.py)")
    parser.add_argument("mode", choices=("gateway", "direct"))
    parser.add_argument("--url", required=True, help="the gateway URL (gateway) or the server's base URL (direct)")
    parser.add_argument("--file", required=True)
    parser.add_argument("--parallel", type=int, required=True)
    parser.add_argument("--state-dir", default=".")
    args = parser.parse_args(argv)

    uploads: list[Callable[[], None]] = []
    session_ids: list[str] = []
    first_body: dict[str, float | None] = {}
    headers = {"x-zoom-s2t-key": TOKEN}
    name = Path(args.file).name
    if args.mode == "gateway":
        import requests

        urls = args.url.split(",")
        for number in range(args.parallel):
            url = urls[number % len(urls)]
            http = requests.Session()
            created = http.post(f"{url}{SESSIONS_PATH}", json={"language": "en"}, headers=headers, timeout=30)
            created.raise_for_status()
            session_id = created.json()["result"]["session_id"]
            session_ids.append(session_id)
            uploads.append(_gateway_put(http, f"{url}{SESSIONS_PATH}/{session_id}", args.file, name, first_body))
    else:
        from compat import LegacyClient

        store = str(Path(args.state_dir) / "state.sqlite3")
        for _ in range(args.parallel):
            client = LegacyClient(api_key=TOKEN, base_url=args.url, store=store)
            session_id = client.create_session("en")["result"]["session_id"]
            session_ids.append(session_id)
            uploads.append(_direct_upload(client, session_id, args.file))

    barrier = threading.Barrier(args.parallel + 1)
    spans: list[tuple[float, float]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(upload: Callable[[], None]) -> None:
        barrier.wait()
        started = time.perf_counter()
        try:
            upload()
        except BaseException as exc:
            with lock:
                errors.append(exc)
            return
        with lock:
            spans.append((started, time.perf_counter()))

    threads = [threading.Thread(target=run, args=(upload,)) for upload in uploads]
    for thread in threads:
        thread.start()
    barrier.wait()
    released = time.perf_counter()
    released_at = time.time()
    cpu_started = time.process_time()
    for thread in threads:
        thread.join()
    cpu_seconds = time.process_time() - cpu_started
    if errors:
        raise RuntimeError(f"{len(errors)} of {args.parallel} uploads failed; first: {errors[0]!r}")
    emit(
        {
            "mode": args.mode,
            "parallel": args.parallel,
            "seconds": max(end for _, end in spans) - released,
            "released_at": released_at,
            "cpu_seconds": cpu_seconds,
            "upload_seconds": [end - start for start, end in spans],
            "session_ids": session_ids,
            "first_body_at": first_body,
            "vmhwm_kib": proc_status_kib("VmHWM"),
        }
    )
    return 0


def _gateway_put(http: Any, url: str, path: str, name: str, first_body: dict[str, float | None]) -> Callable[[], None]:
    session_id = url.rsplit("/", 1)[-1]

    def upload() -> None:
        headers = {"x-zoom-s2t-key": TOKEN, "x-filename": name, "Content-Type": "audio/wav"}
        with FirstRead(path) as stream:
            response = http.put(url, data=stream, headers=headers, timeout=600)
        first_body[session_id] = stream.first_read_at
        if response.status_code != 200:
            raise RuntimeError(f"PUT {url} answered {response.status_code}: {response.text[:300]!r}")

    return upload


def _direct_upload(client: Any, session_id: str, path: str) -> Callable[[], None]:
    def upload() -> None:
        answer = client.upload(session_id, path)
        if answer["result"]["status"] != "uploaded":
            raise RuntimeError(f"upload answered {answer!r}")

    return upload
