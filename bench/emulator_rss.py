"""Emulator memory benchmark: peak RSS of ``scriptix-compat emulator`` under concurrent uploads.

Starts the emulator as a subprocess on 127.0.0.1, uploads ``--clients`` distinct random files of
``--size`` each at the same time (one ``V3Client`` per thread, default settings), checks every copy
on the emulator's disk by sha256, and reports the emulator's ``VmRSS`` before and ``VmHWM`` (peak)
after, from ``/proc/<pid>/status``. Uploads are stored on disk, so the peak should not grow with the
bytes received.

Usage::

    .venv/bin/python bench/emulator_rss.py [--clients 16] [--size 50MiB] [--target-mib 150]

Exit status 1 when the peak is over ``--target-mib`` or a copy differs.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import DATA_DIR, MIB, TOKEN, make_source, parse_size, proc_status_kib, sha256_file


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the emulator exited with {process.returncode}")
        try:
            if requests.get(f"{url}/_emulator/health", timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError("the emulator did not start within 30 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--size", type=parse_size, default=50 * MIB)
    parser.add_argument("--target-mib", type=float, default=150.0)
    args = parser.parse_args()

    from compat import V3Client

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="emulator-rss-", dir=DATA_DIR))
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "compat.cli",
            "emulator",
            "--listen",
            f"127.0.0.1:{port}",
            "--processing-delay",
            "60",
            "--storage-dir",
            str(work / "emulator"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_healthy(url, process)
        sources = []
        for index in range(args.clients):
            path = work / f"source-{index}.bin"
            sources.append((path, make_source(path, args.size)))
        before = proc_status_kib("VmRSS", process.pid)
        results: dict[int, str] = {}
        errors: list[BaseException] = []

        def upload(index: int) -> None:
            try:
                with V3Client(api_key=TOKEN, base_url=url, store=":memory:") as client:
                    done = client.upload(
                        sources[index][0],
                        {"language": "en", "document_type": "caption", "filename": f"s{index}.bin"},
                        resolve_session=False,
                    )
                    results[index] = done.upload_url
            except BaseException as exc:  # reported below; a thread has no caller
                errors.append(exc)

        threads = [threading.Thread(target=upload, args=(i,)) for i in range(args.clients)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
        peak = proc_status_kib("VmHWM", process.pid)
        identical = sum(
            1
            for index, upload_url in results.items()
            if sha256_file(work / "emulator" / "uploads" / f"{upload_url.rstrip('/').rsplit('/', 1)[-1]}.bin")
            == sources[index][1]
        )
        total = args.clients * args.size
        print(f"command: {' '.join(sys.argv)}")
        print(
            f"{args.clients} concurrent uploads of {args.size / MIB:.0f} MiB to the emulator: {seconds:.2f} s, "
            f"{total / MIB / seconds:.0f} MiB/s aggregate"
        )
        print(
            f"emulator RSS before: {before / 1024:.1f} MiB, peak (VmHWM): {peak / 1024:.1f} MiB "
            f"(target {args.target_mib:.0f} MiB)"
        )
        print(f"copies identical: {identical}/{args.clients}; errors: {len(errors)}")
        for error in errors:
            print(f"  {type(error).__name__}: {error}")
        return 0 if not errors and identical == args.clients and peak / 1024 <= args.target_mib else 1
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
