"""Where the gateway's CPU goes: one extra (not counted) run of parallel PUTs through a gateway with one
worker process that runs under a profiler (``bench/gwserve.py``: yappi when installed, else cProfile),
plus ``/proc`` CPU accounting of its event loop and request threads during the same run."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import make_source
from bench.gateway import GatewayProcess
from bench.harness import BenchError, log, run_worker

TOP = 14


@dataclass
class GatewayProfile:
    """The profiler's top functions by self CPU, and the CPU of the run per process part."""

    profiler: str
    level: int
    seconds: float
    total_self_s: float
    top_self: list[tuple[str, int, float]] = field(default_factory=list)  # name, calls, self seconds
    top_total: list[tuple[str, int, float]] = field(default_factory=list)  # name, calls, total seconds
    thread_cpu: dict[str, float] = field(default_factory=dict)


def profile_gateway(server: Any, work: Path, size: int, level: int, notes: list[str]) -> GatewayProfile | None:
    """``level`` parallel PUTs of ``size`` bytes through a profiled gateway (``--workers 1``)."""
    log(f"profiling the gateway (x{level}) ...")
    source = work / "profile.wav"
    make_source(source, size)
    state = work / "profile"
    out = state / "profile.json"
    try:
        gateway = GatewayProcess(server.base_url, state / "gateway", workers=1, module=("bench.gwserve", str(out)))
        try:
            before = gateway.thread_cpu()
            args = ["gateway", "--url", gateway.url, "--file", str(source), "--parallel", str(level)]
            record = run_worker("scaling", [*args, "--state-dir", str(state)], timeout=600)
            after = gateway.thread_cpu()
        finally:
            gateway.stop()
        data = json.loads(out.read_text(encoding="utf-8"))
    except (BenchError, OSError, ValueError) as exc:
        notes.append(f"profiling the gateway failed: {exc}")
        return None
    finally:
        source.unlink(missing_ok=True)
        shutil.rmtree(state, ignore_errors=True)
        for path in Path(server.directory).iterdir():
            if path.is_file():
                path.unlink(missing_ok=True)
    rows = data["rows"]
    total_self = sum(row["self_s"] for row in rows)
    by_self = sorted(rows, key=lambda row: -row["self_s"])[:TOP]
    by_total = sorted(
        (row for row in rows if "compat/" in row["name"] or "hypercorn" in row["name"]), key=lambda row: -row["total_s"]
    )[:TOP]
    return GatewayProfile(
        profiler=data["profiler"],
        level=level,
        seconds=float(record["seconds"]),
        total_self_s=total_self,
        top_self=[(row["name"], row["calls"], row["self_s"]) for row in by_self],
        top_total=[(row["name"], row["calls"], row["total_s"]) for row in by_total],
        thread_cpu={key: after.get(key, 0.0) - value for key, value in before.items()},
    )


__all__ = ["GatewayProfile", "profile_gateway"]
