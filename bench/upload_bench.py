"""Upload benchmark: plain streaming PUT vs. plain tuspy vs. ``compat.V3Client`` over loopback.

One run generates a random file (``--size``, 1 GiB by default), starts the official
``@tus/server`` Node peer (``tests/tus_server.py``) on 127.0.0.1 and uploads the file
``--repeat`` times with each contender, round-robin:

``plain-put``
    ``requests.put(sink_url, data=open(path, "rb"))`` to the server's ``PUT /sink/<name>`` route:
    the floor — one streaming HTTP request, no protocol.
``tuspy``
    plain ``tusclient`` with ``chunk_size=50 MiB`` (Scriptix's advice). tuspy's default chunk size
    would read the whole file into memory in one piece, so that would not be a fair comparison.
``compat-v3``
    ``compat.V3Client(...).upload(path, metadata)`` with default settings (50 MiB chunks) and a
    fresh resume store, so nothing is resumed.

Every upload runs in its own fresh Python subprocess (``--worker NAME``), so peak RSS is per
contender. The worker reads ``VmRSS`` from ``/proc/self/status`` right after importing its library
(baseline) and ``VmHWM`` (peak resident set) after the upload, and prints one JSON line. The timed
region covers building the client, opening the file and the whole upload; verification happens
afterwards, in the parent: the size of every stored upload, and its sha256 once per contender.
Uploaded files are deleted between runs.

Usage::

    .venv/bin/python bench/upload_bench.py --size 1GiB --repeat 3 [--output bench/data/upload.md]

The report (a Markdown table, the exact command line and machine facts) goes to stdout;
progress goes to stderr.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DATA_DIR = REPO / "bench" / "data"
TESTS_DIR = REPO / "tests"

MIB = 1024 * 1024
BLOCK = 8 * MIB
CHUNK_SIZE = 50 * MIB
HASH_BLOCK = 8 * MIB
CONTENDERS = ("plain-put", "tuspy", "compat-v3")
BASELINE = "plain-put"
TUS_METADATA = {"filename": "x", "language": "en", "document_type": "caption"}
COMPAT_METADATA = {"language": "en", "document_type": "caption", "filename": "bench.bin", "session_id": "bench"}
NOTES = {
    "plain-put": "one streaming `requests.put` to `PUT /sink/<name>`",
    "tuspy": "`tusclient` 50 MiB chunks (its default would read the whole file into RAM)",
    "compat-v3": "`V3Client.upload`, default settings (50 MiB chunks), fresh resume store",
}

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1024,
    "m": 1000**2,
    "mb": 1000**2,
    "mib": 1024**2,
    "g": 1000**3,
    "gb": 1000**3,
    "gib": 1024**3,
}
_SIZE = re.compile(r"^\s*(\d+)\s*([a-zA-Z]*)\s*$")


# -- helpers shared by parent and worker ---------------------------------------------------


def parse_size(text: str) -> int:
    """Parse ``"1GiB"``, ``"64MiB"``, ``"500MB"`` or ``"1048576"`` into bytes (decimal k/M/G, binary KiB/MiB/GiB)."""
    match = _SIZE.match(text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _SIZE_UNITS:
        raise argparse.ArgumentTypeError(f"invalid size {text!r} (try 1GiB, 64MiB, 500MB or a byte count)")
    size = int(match.group(1)) * _SIZE_UNITS[unit]
    if size <= 0:
        raise argparse.ArgumentTypeError(f"size must be positive, got {text!r}")
    return size


def human_size(size: int) -> str:
    """``1073741824`` -> ``"1 GiB (1073741824 bytes)"``."""
    for unit, factor in (("GiB", 1024**3), ("MiB", MIB), ("KiB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit} ({size} bytes)"
    return f"{size} bytes"


def proc_status_kib(field_name: str) -> int:
    """A ``kB`` field of ``/proc/self/status`` (``VmRSS``, ``VmHWM``) in KiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field_name} not found in /proc/self/status")


def sha256_file(path: Path) -> str:
    """sha256 of a file, read in 8 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


# -- worker: one upload in a fresh process -------------------------------------------------


class Stopwatch:
    """Wall-clock and CPU (user+system) time of a ``with`` block."""

    def __enter__(self) -> Stopwatch:
        self._wall = time.perf_counter()
        self._cpu = time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._wall
        self.cpu_seconds = time.process_time() - self._cpu

    def record(self, baseline_rss_kib: int, **extra: Any) -> dict[str, Any]:
        """The measurements as a JSON-ready dict."""
        return {"seconds": self.seconds, "cpu_seconds": self.cpu_seconds, "baseline_rss_kib": baseline_rss_kib, **extra}


def _upload_plain_put(args: argparse.Namespace) -> dict[str, Any]:
    """Upload with one streaming ``requests.put`` of the open file to the sink route."""
    import requests

    baseline = proc_status_kib("VmRSS")
    with Stopwatch() as watch, open(args.file, "rb") as stream:
        response = requests.put(args.url, data=stream, timeout=(10, 600))
    if response.status_code != 204:
        raise RuntimeError(f"PUT {args.url} answered {response.status_code}: {response.text[:200]!r}")
    return watch.record(baseline, url=args.url)


def _upload_tuspy(args: argparse.Namespace) -> dict[str, Any]:
    """Upload with plain tuspy, 50 MiB chunks."""
    from tusclient import client

    baseline = proc_status_kib("VmRSS")
    with Stopwatch() as watch:
        uploader = client.TusClient(args.url).uploader(
            file_path=args.file, chunk_size=CHUNK_SIZE, metadata=dict(TUS_METADATA)
        )
        uploader.upload()
    return watch.record(baseline, url=uploader.url, chunk_size=CHUNK_SIZE)


def _upload_compat(args: argparse.Namespace) -> dict[str, Any]:
    """Upload with ``compat.V3Client`` and its default settings (fresh resume store)."""
    from compat import V3Client

    baseline = proc_status_kib("VmRSS")
    store = Path(args.state_dir) / "state.sqlite3"
    with Stopwatch() as watch:
        bench_client = V3Client(api_key="bench-token", base_url=args.url, store=str(store))
        result = bench_client.upload(args.file, dict(COMPAT_METADATA))
        bench_client.close()
    return watch.record(
        baseline,
        url=result.upload_url,
        chunk_size=bench_client.settings.chunk_size,
        resumed_from=result.resumed_from,
        session_id=result.session_id,
    )


WORKERS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "plain-put": _upload_plain_put,
    "tuspy": _upload_tuspy,
    "compat-v3": _upload_compat,
}


def run_worker(args: argparse.Namespace) -> int:
    """Run one contender's upload and print one JSON line with its measurements."""
    size = os.stat(args.file).st_size
    record = WORKERS[args.worker](args)
    record.update(
        contender=args.worker, bytes=size, mib_s=size / MIB / record["seconds"], vmhwm_kib=proc_status_kib("VmHWM")
    )
    print(json.dumps(record), flush=True)
    return 0


# -- parent: orchestration, verification, report ------------------------------------------


@dataclass
class Run:
    """One upload by one contender, as measured by its worker and checked by the parent."""

    contender: str
    round: int
    seconds: float
    bytes: int
    mib_s: float
    vmhwm_kib: int
    baseline_rss_kib: int
    cpu_seconds: float
    verified: str


@dataclass
class Failure:
    """A worker that failed or an upload that did not verify."""

    contender: str
    round: int
    message: str


@dataclass
class Results:
    """Everything one benchmark run gathered."""

    runs: list[Run] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    def of(self, contender: str) -> list[Run]:
        """The successful runs of one contender."""
        return [run for run in self.runs if run.contender == contender]


def make_source(path: Path, size: int) -> str:
    """Write ``size`` random bytes to ``path`` in 8 MiB blocks and return their sha256."""
    digest = hashlib.sha256()
    remaining = size
    with path.open("wb") as stream:
        while remaining:
            block = os.urandom(min(BLOCK, remaining))
            digest.update(block)
            stream.write(block)
            remaining -= len(block)
        stream.flush()
        os.fsync(stream.fileno())
    return digest.hexdigest()


def spawn_worker(
    contender: str, file: Path, url: str, state_dir: Path, timeout: float
) -> tuple[dict[str, Any] | None, str]:
    """Run ``--worker contender`` in a fresh interpreter; return (its JSON record or None, error text)."""
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        contender,
        "--file",
        str(file),
        "--url",
        url,
        "--state-dir",
        str(state_dir),
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO, check=False)
    except subprocess.TimeoutExpired as exc:
        stderr = exc.stderr.decode("utf-8", "replace") if isinstance(exc.stderr, bytes) else exc.stderr or ""
        return None, f"timed out after {timeout:g} s\n{stderr}"
    if proc.returncode != 0:
        return None, f"exit code {proc.returncode}\n{proc.stderr}{proc.stdout}"
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return None, f"no JSON line in worker output\n{proc.stdout}{proc.stderr}"
    return json.loads(lines[-1]), ""


def verify_and_clean(
    server: Any, contender: str, record: dict[str, Any], size: int, source_sha: str, check_hash: bool
) -> str:
    """Check the stored upload (size, and sha256 when ``check_hash``), delete it, and say what was checked.

    Raises:
        RuntimeError: The server holds something else than the source file.
    """
    if contender == "plain-put":
        paths = [server.sink_path(record["url"].rsplit("/", 1)[-1])]
        stored_size = paths[0].stat().st_size if paths[0].is_file() else -1
        complete = stored_size == size
    else:
        stored = server.upload(record["url"])
        paths = [stored.path, stored.info_path]
        stored_size = stored.offset
        complete = stored.complete and stored.size == size
        if contender == "compat-v3":
            expected = dict(COMPAT_METADATA)
            if stored.metadata != expected:
                raise RuntimeError(f"server stored metadata {stored.metadata!r}, expected {expected!r}")
            if record.get("resumed_from"):
                raise RuntimeError(f"upload was resumed from byte {record['resumed_from']}, not sent whole")
    try:
        if not complete or stored_size != size:
            raise RuntimeError(f"server holds {stored_size} bytes, expected {size}")
        checked = "size"
        if check_hash:
            stored_sha = sha256_file(paths[0])
            if stored_sha != source_sha:
                raise RuntimeError(f"server file sha256 {stored_sha} != source {source_sha}")
            checked = "size+sha256"
        return checked
    finally:
        for path in paths:
            path.unlink(missing_ok=True)


def schedule(contenders: Sequence[str], repeat: int) -> list[tuple[int, str]]:
    """Round-robin order; each round starts one contender later so no one always goes first."""
    order: list[tuple[int, str]] = []
    for index in range(repeat):
        shift = index % len(contenders)
        order.extend((index + 1, name) for name in [*contenders[shift:], *contenders[:shift]])
    return order


def run_benchmark(args: argparse.Namespace, work: Path) -> tuple[Results, dict[str, str]]:
    """Generate the file, start the server, run every contender ``repeat`` times."""
    sys.path.insert(0, str(TESTS_DIR))
    from tus_server import TusServer, node_ready

    if not node_ready():
        raise SystemExit("the TUS peer cannot start: need `node` on PATH and `npm ci` in tests/tus-server")

    source = work / "source.bin"
    log(f"writing {human_size(args.size)} of random data to {source} ...")
    started = time.perf_counter()
    source_sha = make_source(source, args.size)
    log(f"  done in {time.perf_counter() - started:.1f} s, sha256 {source_sha}")

    facts: dict[str, str] = {"source sha256": source_sha}
    results = Results()
    hashed: set[str] = set()
    with TusServer(work / "server") as server:
        facts["server"] = f"@tus/server {_node_package_version('@tus/server')} + @tus/file-store " + (
            f"{_node_package_version('@tus/file-store')} on {server.base_url} (Node {_node_version()})"
        )
        for number, contender in schedule(args.contenders, args.repeat):
            state_dir = work / f"state-{number}-{contender}"
            state_dir.mkdir()
            if contender == "plain-put":
                url = server.sink_url(f"{contender}-{number}")
            elif contender == "tuspy":
                url = server.endpoint
            else:
                url = server.base_url
            record, error = spawn_worker(contender, source, url, state_dir, args.timeout)
            shutil.rmtree(state_dir, ignore_errors=True)
            if record is None:
                results.failures.append(Failure(contender, number, error))
                log(f"[round {number}] {contender}: FAILED: {error.strip().splitlines()[-1] if error else ''}")
                _clean_directory(work / "server")
                continue
            try:
                checked = verify_and_clean(server, contender, record, args.size, source_sha, contender not in hashed)
            except (RuntimeError, KeyError, OSError) as exc:
                results.failures.append(Failure(contender, number, f"verification failed: {exc!r}"))
                log(f"[round {number}] {contender}: VERIFICATION FAILED: {exc!r}")
                _clean_directory(work / "server")
                continue
            if checked.endswith("sha256"):
                hashed.add(contender)
            run = Run(
                contender=contender,
                round=number,
                seconds=record["seconds"],
                bytes=record["bytes"],
                mib_s=record["mib_s"],
                vmhwm_kib=record["vmhwm_kib"],
                baseline_rss_kib=record["baseline_rss_kib"],
                cpu_seconds=record["cpu_seconds"],
                verified=checked,
            )
            results.runs.append(run)
            log(
                f"[round {number}] {contender}: {run.seconds:.2f} s, {run.mib_s:.0f} MiB/s, "
                f"VmHWM {run.vmhwm_kib / 1024:.1f} MiB (baseline {run.baseline_rss_kib / 1024:.1f} MiB), "
                f"CPU {run.cpu_seconds:.2f} s, verified {checked}"
            )
            leftovers = [p.name for p in (work / "server").iterdir()]
            if leftovers:
                log(f"  warning: left on the server after cleanup: {leftovers}")
                _clean_directory(work / "server")
    return results, facts


def _clean_directory(directory: Path) -> None:
    """Delete every file in ``directory`` (the server's store) so the disk does not fill."""
    if directory.is_dir():
        for path in directory.iterdir():
            if path.is_file():
                path.unlink(missing_ok=True)


def _node_version() -> str:
    try:
        return subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def _node_package_version(name: str) -> str:
    package = TESTS_DIR / "tus-server" / "node_modules" / name / "package.json"
    try:
        return str(json.loads(package.read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError):
        return "?"


def _python_package_version(name: str) -> str:
    try:
        return importlib_metadata.version(name)
    except importlib_metadata.PackageNotFoundError:
        return "?"


def machine_facts(args: argparse.Namespace) -> dict[str, str]:
    """CPU, memory, Python and library versions, file size."""
    cpu_model = "?"
    mem_total = "?"
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        models = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
        cpu_model = models[0].strip() if models else "?"
        meminfo = Path("/proc/meminfo").read_text(encoding="ascii", errors="replace")
        found = re.search(r"^MemTotal:\s*(\d+) kB", meminfo, re.MULTILINE)
        mem_total = f"{int(found.group(1)) / 1024 / 1024:.1f} GiB" if found else "?"
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpus": f"{os.cpu_count()} ({usable} usable by this process), {cpu_model}",
        "memory": mem_total,
        "os": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()} ({sys.executable})",
        "libraries": ", ".join(
            f"{name} {_python_package_version(name)}" for name in ("requests", "urllib3", "tuspy", "scriptix-compat")
        ),
        "file": f"{human_size(args.size)} of os.urandom data, written once; read from the page cache by all",
        "repeats": f"{args.repeat} per contender, round-robin (each round starts one contender later)",
    }


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def render_report(args: argparse.Namespace, results: Results, facts: dict[str, str]) -> str:
    """The Markdown report: table, command line, machine facts, failures."""
    mib = args.size / MIB
    baseline_runs = results.of(BASELINE)
    base_median = _median([run.seconds for run in baseline_runs]) if baseline_runs else None
    lines = [
        f"## Upload benchmark: {human_size(args.size)} to a loopback `@tus/server`",
        "",
        "| contender | runs | median s | MiB/s (median) | time vs plain-put | min-max s | CPU s (median) "
        "| baseline RSS MiB | max VmHWM MiB | VmHWM - baseline MiB | verified | notes |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for contender in args.contenders:
        runs = results.of(contender)
        failed = sum(1 for failure in results.failures if failure.contender == contender)
        runs_text = f"{len(runs)}/{len(runs) + failed}"
        if not runs:
            lines.append(f"| {contender} | {runs_text} | FAILED | | | | | | | | | {NOTES[contender]} |")
            continue
        seconds = [run.seconds for run in runs]
        median = _median(seconds)
        ratio = f"{median / base_median:.2f}x" if base_median else "n/a"
        peak = max(runs, key=lambda run: run.vmhwm_kib)
        baseline_rss = max(run.baseline_rss_kib for run in runs)
        hashed = sum(1 for run in runs if run.verified.endswith("sha256"))
        verified = f"size {len(runs)}/{len(runs)}, sha256 {hashed}/{len(runs)}"
        lines.append(
            f"| {contender} | {runs_text} | {median:.2f} | {mib / median:.0f} | {ratio} "
            f"| {min(seconds):.2f}-{max(seconds):.2f} | {_median([run.cpu_seconds for run in runs]):.2f} "
            f"| {baseline_rss / 1024:.1f} | {peak.vmhwm_kib / 1024:.1f} "
            f"| {(peak.vmhwm_kib - peak.baseline_rss_kib) / 1024:.1f} | {verified} | {NOTES[contender]} |"
        )
    lines += [
        "",
        "Seconds cover building the client, opening the file and the whole upload, in a fresh Python process "
        "per run. Baseline RSS is `VmRSS` right after importing the contender's library; VmHWM is the process's "
        "peak resident set (`/proc/self/status`) after the upload. CPU s is the worker's user+system time in "
        "that same region (the Node server shares the same cores). 'verified': size of every stored upload; "
        "sha256 of the server-side file once per contender, outside the timed region.",
        "",
        "Command:",
        "",
        "```",
        shlex.join(getattr(sys, "orig_argv", [sys.executable, *sys.argv])),
        "```",
        "",
        "Machine and setup:",
        "",
    ]
    lines += [f"- {key}: {value}" for key, value in {**machine_facts(args), **facts}.items()]
    if results.failures:
        lines += ["", "### Failures", ""]
        for failure in results.failures:
            lines += [f"{failure.contender}, round {failure.round}:", "", "```", failure.message.rstrip(), "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def log(message: str) -> None:
    """Progress to stderr (the report goes to stdout)."""
    print(message, file=sys.stderr, flush=True)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options for the parent and (hidden) for a worker."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--size", type=parse_size, default=parse_size("1GiB"), help="file size (default 1GiB)")
    parser.add_argument("--repeat", type=int, default=3, help="uploads per contender (default 3)")
    parser.add_argument("--output", type=Path, help="also write the Markdown report to this file")
    parser.add_argument(
        "--contenders",
        type=lambda text: [name.strip() for name in text.split(",") if name.strip()],
        default=list(CONTENDERS),
        help=f"comma-separated subset of {','.join(CONTENDERS)} (default: all)",
    )
    parser.add_argument(
        "--data-dir", type=Path, default=DATA_DIR, help="where the test file and server store go (default bench/data)"
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds allowed per upload (default 900)")
    # worker-only options
    parser.add_argument("--worker", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--state-dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    unknown = [name for name in args.contenders if name not in CONTENDERS]
    if unknown or not args.contenders:
        parser.error(f"--contenders must be a subset of {','.join(CONTENDERS)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark (or, with ``--worker``, one upload) and print the report."""
    args = parse_args(argv)
    if args.worker:
        return run_worker(args)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(args.data_dir).free
    if free < 2 * args.size + 256 * MIB:
        raise SystemExit(f"not enough disk space in {args.data_dir}: {free} bytes free, need about {2 * args.size}")
    work = Path(tempfile.mkdtemp(prefix="upload-bench-", dir=args.data_dir))
    try:
        results, facts = run_benchmark(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = render_report(args, results, facts)
    print(report, end="")
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(report, encoding="utf-8")
        log(f"report written to {args.output}")
    return 1 if results.failures else 0


if __name__ == "__main__":
    sys.exit(main())
