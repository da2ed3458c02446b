"""Gateway memory benchmark: peak RSS of ``scriptix-compat gateway`` while a large V1 PUT goes through it.

One run:

1. writes a random file of ``--size`` bytes (1 GiB by default);
2. starts a loopback upstream in its own process: the TUS sink ``tests/sink_tus_server.py``
   (PATCH bodies streamed to disk, 64 KiB at a time; it also creates sessions);
3. starts the gateway as a subprocess (``python -m compat.cli gateway ...``, default settings);
4. creates a session through the gateway, then PUTs the file with plain
   ``requests.put(url, data=open(path, "rb"))``, as a V1 program would;
5. reads the gateway's ``VmRSS`` before the PUT and its ``VmHWM`` (peak resident set) after it from
   ``/proc/<pid>/status``, checks the sink's copy (size and sha256) and stops the gateway with SIGTERM.

Usage::

    .venv/bin/python bench/gateway_rss.py [--size 1GiB] [--dir /tmp] [--target-mib 150]

The report goes to stdout; exit status 1 when the peak is over ``--target-mib`` or the copy differs.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    MIB,
    REPO,
    SESSIONS_PATH,
    TOKEN,
    make_source,
    parse_size,
    proc_status_kib,
    sha256_file,
)

SESSIONS = SESSIONS_PATH
SINK = REPO / "tests" / "sink_tus_server.py"


def start_gateway(upstream: str, store: Path, max_body: int) -> tuple[subprocess.Popen[str], str, list[str]]:
    command = [sys.executable, "-m", "compat.cli", "gateway", "--listen", "127.0.0.1:0", "--upstream", upstream]
    command += ["--store", str(store), "--max-body-size", str(max_body)]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SCRIPTIX_")}
    process = subprocess.Popen(
        command, cwd=REPO, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    lines: list[str] = []
    ready: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line.rstrip("\n"))
            found = re.search(r"^scriptix-compat gateway: listening on (http://\S+)", line)
            if found:
                ready.put(found.group(1))

    threading.Thread(target=read, daemon=True).start()
    try:
        return process, ready.get(timeout=30), lines
    except queue.Empty:
        process.kill()
        raise RuntimeError("the gateway did not start:\n" + "\n".join(lines)) from None


def run(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="gateway-rss-", dir=args.dir))
    sink_dir = work / "sink"
    sink_dir.mkdir()
    source = work / "source.bin"
    upstream: subprocess.Popen[str] | None = None
    gateway: subprocess.Popen[str] | None = None
    try:
        print(f"writing {args.size} random bytes to {source} ...", file=sys.stderr)
        source_sha = make_source(source, args.size)
        upstream = subprocess.Popen([sys.executable, str(SINK), str(sink_dir)], stdout=subprocess.PIPE, text=True)
        assert upstream.stdout is not None
        upstream_url = f"http://127.0.0.1:{json.loads(upstream.stdout.readline())['port']}"
        gateway, url, log = start_gateway(upstream_url, work / "state.sqlite3", max(args.size + 1, 10 * 1000**3))
        headers = {"x-zoom-s2t-key": TOKEN}
        created = requests.post(f"{url}{SESSIONS}", json={"language": "en"}, headers=headers, timeout=30)
        created.raise_for_status()
        session_id = created.json()["result"]["session_id"]
        baseline_kib = proc_status_kib("VmRSS", gateway.pid)
        first_byte_upstream: list[float] = []

        def watch_sink() -> None:
            while not first_byte_upstream and gateway is not None and gateway.poll() is None:
                if any(p.stat().st_size > 0 for p in sink_dir.iterdir()):
                    first_byte_upstream.append(time.monotonic())
                    return
                time.sleep(0.05)

        watcher = threading.Thread(target=watch_sink, daemon=True)
        print(f"PUT {args.size} bytes through the gateway ({url}) ...", file=sys.stderr)
        started = time.monotonic()
        watcher.start()
        with open(source, "rb") as body:
            response = requests.put(
                f"{url}{SESSIONS}/{session_id}",
                data=body,
                headers={**headers, "x-filename": "source.wav", "Content-Type": "audio/wav"},
                timeout=3600,
            )
        seconds = time.monotonic() - started
        response.raise_for_status()
        peak_kib = proc_status_kib("VmHWM", gateway.pid)
        stored = [p for p in sink_dir.iterdir() if p.stat().st_size > 0]
        verified = len(stored) == 1 and stored[0].stat().st_size == args.size and sha256_file(stored[0]) == source_sha
        gateway.send_signal(signal.SIGTERM)
        exit_code = gateway.wait(60)
        received = (first_byte_upstream[0] - started) if first_byte_upstream else float("nan")
        report: dict[str, Any] = {
            "bytes": args.size,
            "seconds": round(seconds, 2),
            "mib_per_s": round(args.size / MIB / seconds, 1),
            "seconds_until_first_byte_upstream": round(received, 2),
            "gateway_rss_before_put_mib": round(baseline_kib / 1024, 1),
            "gateway_peak_rss_vmhwm_mib": round(peak_kib / 1024, 1),
            "target_mib": args.target_mib,
            "under_target": peak_kib / 1024 < args.target_mib,
            "copy_verified_sha256": verified,
            "answer": response.json()["result"]["status"],
            "gateway_exit_code_after_sigterm": exit_code,
        }
        print(json.dumps(report, indent=2))
        print(
            f"\n{args.size / MIB:.0f} MiB through the gateway in {seconds:.2f} s ({report['mib_per_s']} MiB/s); "
            f"gateway peak RSS {peak_kib / 1024:.1f} MiB (before the PUT {baseline_kib / 1024:.1f} MiB), "
            f"target < {args.target_mib} MiB; copy {'verified' if verified else 'DIFFERS'}",
        )
        if args.verbose:
            print("\n".join(log), file=sys.stderr)
        return 0 if report["under_target"] and verified and exit_code == 0 else 1
    finally:
        for process in (gateway, upstream):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(10)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--size", type=_size, default=1024 * MIB, help="bytes to PUT (default 1GiB)")
    parser.add_argument("--dir", default=None, help="where to put the files (default: the temp directory)")
    parser.add_argument("--target-mib", type=float, default=150.0, help="the peak RSS to stay under (150)")
    parser.add_argument("--keep", action="store_true", help="keep the files")
    parser.add_argument("--verbose", action="store_true", help="print the gateway's log")
    args = parser.parse_args()
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
