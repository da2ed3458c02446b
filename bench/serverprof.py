"""Where the Node server's CPU goes: the same bytes through its sink and through its TUS ``PATCH`` path.

For each profiled contender a separate server is started with V8's sampling profiler running
(``bench/node-cpuprof.cjs``, preloaded with ``NODE_OPTIONS=--require``; the profile is written when the
server exits), receives ``uploads`` uploads of
``size`` bytes from that contender (each in a fresh worker, as in the upload measurements), and is
stopped. The profile's busy time (every sample but ``(idle)``) and the functions with the most self
time tell what the server spends per GiB on each path.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import BENCH_DIR, GIB, make_source
from bench.harness import BenchError, run_worker

PROFILED = ("plain-put", "plain-patch", "compat-v3")
PRELOAD = BENCH_DIR / "node-cpuprof.cjs"


@dataclass
class ServerProfile:
    """One contender's uploads as the server's CPU profile sees them."""

    contender: str
    busy_ms_per_gib: float
    gc_ms_per_gib: float
    top: list[tuple[str, float]]  # (function, self ms per GiB)


def profile_server(tus_server_class: Any, work: Path, size: int, uploads: int = 2) -> list[ServerProfile]:
    """Profile a fresh server per contender; see the module docstring."""
    source = work / "serverprof.wav"
    make_source(source, size)
    results: list[ServerProfile] = []
    saved = {name: os.environ.get(name) for name in ("NODE_OPTIONS", "BENCH_CPUPROF_DIR")}
    try:
        for contender in PROFILED:
            profile_dir = work / f"cpuprof-{contender}"
            profile_dir.mkdir()
            os.environ["NODE_OPTIONS"] = f"--require {PRELOAD}"
            os.environ["BENCH_CPUPROF_DIR"] = str(profile_dir.resolve())
            with tus_server_class(work / f"serverprof-{contender}") as server:
                _restore(saved)
                for number in range(uploads):
                    url = server.sink_url(f"p{number}") if contender == "plain-put" else server.base_url
                    if contender == "plain-patch":
                        url = server.endpoint
                    args = ["--url", url, "--file", str(source), "--state-dir", str(profile_dir)]
                    run_worker("upload", [contender, *args, "--session-id", f"p{number}"], timeout=600)
            shutil.rmtree(work / f"serverprof-{contender}", ignore_errors=True)
            profiles = list(profile_dir.glob("*.cpuprofile"))
            if not profiles:
                raise BenchError(f"the server wrote no CPU profile for {contender}")
            results.append(_summarize(contender, profiles[0], size * uploads))
    finally:
        _restore(saved)
        source.unlink(missing_ok=True)
    return results


def _restore(saved: dict[str, str | None]) -> None:
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _summarize(contender: str, path: Path, total_bytes: int, top: int = 5) -> ServerProfile:
    profile = json.loads(path.read_text(encoding="utf-8"))
    names: dict[int, str] = {}
    for node in profile["nodes"]:
        frame = node["callFrame"]
        where = frame["url"].rsplit("/", 1)[-1] or "native"
        names[node["id"]] = f"{frame['functionName'] or '(anonymous)'} ({where})"
    self_ms: dict[str, float] = {}
    for node_id, delta in zip(profile["samples"], profile["timeDeltas"], strict=False):
        name = names.get(node_id, "?")
        self_ms[name] = self_ms.get(name, 0.0) + delta / 1000
    per_gib = GIB / total_bytes
    busy = sum(ms for name, ms in self_ms.items() if not name.startswith("(idle)"))
    gc = sum(ms for name, ms in self_ms.items() if name.startswith("(garbage collector)"))
    ranked = sorted(
        ((name, ms * per_gib) for name, ms in self_ms.items() if not name.startswith(("(idle)", "(program)"))),
        key=lambda item: -item[1],
    )
    return ServerProfile(contender, busy * per_gib, gc * per_gib, ranked[:top])
