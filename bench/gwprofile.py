"""Where the gateway's time goes, in two extra (not counted) runs of parallel PUTs through a gateway with one
worker process under a profiler (``bench/gwserve.py``: yappi, else cProfile):

* the bytes path: ``level`` PUTs of the parallel size, CPU clock, with ``/proc`` CPU accounting of the
  event loop and the request threads during the same run;
* the control path: ``level`` PUTs of 1 MiB, wall clock (waits included): what a PUT does before its
  upload reaches the upstream, per call of each step.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import MIB, make_source
from bench.gateway import GatewayProcess
from bench.harness import BenchError, log, run_worker

TOP = 14
CONTROL_SIZE = 1 * MIB
# the steps of a V1 PUT before and around the upstream creation POST (compat/translate.py and below)
CONTROL_STEPS = (
    "Translator.upload",
    "probe_empty",
    "Translator._owned_session",
    "SessionBook.claim",
    "ResumableUploader._create",
    "ResumableUploader.upload_chunk",
    "SQLiteStore.execute",
)


@dataclass
class GatewayProfile:
    """The profiler's top functions by self CPU, the CPU of the run per part, and the control path's steps."""

    profiler: str
    level: int
    seconds: float
    total_self_s: float
    top_self: list[tuple[str, int, float]] = field(default_factory=list)  # name, calls, self seconds
    top_total: list[tuple[str, int, float]] = field(default_factory=list)  # name, calls, total seconds
    thread_cpu: dict[str, float] = field(default_factory=dict)
    control_profiler: str = ""
    control_steps: list[tuple[str, int, float]] = field(default_factory=list)  # name, calls, wall s per call


def _run(
    server: Any, work: Path, source: Path, level: int, clock: str
) -> tuple[dict[str, Any], dict[str, Any], dict[str, float]]:
    state = work / f"profile-{clock}"
    out = state / "profile.json"
    try:
        gateway = GatewayProcess(
            server.base_url,
            state / "gateway",
            workers=1,
            module=("bench.gwserve", str(out)),
            env={"BENCH_PROFILE_CLOCK": clock},
        )
        try:
            before = gateway.thread_cpu()
            args = ["gateway", "--url", gateway.url, "--file", str(source), "--parallel", str(level)]
            record = run_worker("scaling", [*args, "--state-dir", str(state)], timeout=600)
            after = gateway.thread_cpu()
        finally:
            gateway.stop()
        data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        return record, data, {key: after.get(key, 0.0) - value for key, value in before.items()}
    finally:
        shutil.rmtree(state, ignore_errors=True)
        for path in Path(server.directory).iterdir():
            if path.is_file():
                path.unlink(missing_ok=True)


def profile_gateway(server: Any, work: Path, size: int, level: int, notes: list[str]) -> GatewayProfile | None:
    """``level`` parallel PUTs of ``size`` bytes (CPU) and of 1 MiB (wall) through a profiled gateway."""
    log(f"profiling the gateway (x{level}) ...")
    source = work / "profile.wav"
    small = work / "profile-small.wav"
    try:
        make_source(source, size)
        make_source(small, CONTROL_SIZE)
        record, data, threads = _run(server, work, source, level, "cpu")
        _, control, _ = _run(server, work, small, level, "wall")
    except (BenchError, OSError, ValueError) as exc:
        notes.append(f"profiling the gateway failed: {exc}")
        return None
    finally:
        source.unlink(missing_ok=True)
        small.unlink(missing_ok=True)
    rows = data["rows"]
    total_self = sum(row["self_s"] for row in rows)
    by_self = sorted(rows, key=lambda row: -row["self_s"])[:TOP]
    ours = [row for row in rows if "compat/" in row["name"] or "hypercorn" in row["name"]]
    by_total = sorted(ours, key=lambda row: -row["total_s"])[:TOP]
    steps = []
    for step in CONTROL_STEPS:
        found = [row for row in control["rows"] if row["name"].split(" (")[0] == step]
        calls = sum(row["calls"] for row in found)
        if calls:
            steps.append((step, calls, sum(row["total_s"] for row in found) / calls))
    return GatewayProfile(
        profiler=data["profiler"],
        level=level,
        seconds=float(record["seconds"]),
        total_self_s=total_self,
        top_self=[(row["name"], row["calls"], row["self_s"]) for row in by_self],
        top_total=[(row["name"], row["calls"], row["total_s"]) for row in by_total],
        thread_cpu=threads,
        control_profiler=control["profiler"].replace("CPU clock", "wall clock"),
        control_steps=steps,
    )


__all__ = ["GatewayProfile", "profile_gateway"]
