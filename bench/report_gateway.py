"""The gateway's rows of RESULTS.md (issue 12: a streaming gateway; issue 13: a fleet on PostgreSQL).

Ratios are paired: each round runs every contender (or mode) once, alternating; a round's ratio is
direct seconds ÷ gateway seconds (≥ 1: the gateway is as fast), and the row gives the median of those
ratios with their spread (min-max over the rounds).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench.common import GIB, MIB, size_label
from bench.harness import median
from bench.uploads import ScalingRun, UploadRun

if TYPE_CHECKING:
    from bench.report import RunData, Target

SINGLE_TARGET = 0.85
PARALLEL_TARGET = 0.80
START_TARGET_S = 0.1
RSS_TARGET_MIB = 150.0
DIRECT = "compat-legacy"
PARALLEL_MODES = {
    "gateway-w1": "gateway, `--workers 1`",
    "gateway-w2": "gateway, `--workers 2`",
}


def default_chunk_size() -> int:
    """The shim's default ``chunk_size`` (the bytes of one TUS PATCH)."""
    try:
        from compat.config import Settings

        return int(Settings.model_fields["chunk_size"].default)
    except (ImportError, KeyError, TypeError, ValueError):
        return 50 * MIB


@dataclass
class Paired:
    """Per-round ratios of a pair of contenders."""

    ratios: list[float]

    @property
    def median(self) -> float:
        return median(self.ratios)

    def text(self) -> str:
        if not self.ratios:
            return "n/a"
        return f"{self.median:.2f}x ({min(self.ratios):.2f}-{max(self.ratios):.2f}, {len(self.ratios)} rounds)"


def paired_uploads(data: RunData, size: int, contender: str = "gateway", base: str = DIRECT) -> Paired:
    """Per round: ``base``'s seconds ÷ ``contender``'s, single uploads of ``size``."""
    theirs = {run.round: run for run in data.uploads.of(base, size)}
    return Paired(
        [theirs[run.round].seconds / run.seconds for run in data.uploads.of(contender, size) if run.round in theirs]
    )


def runs_of(data: RunData, mode: str, level: int) -> list[ScalingRun]:
    return [run for run in data.uploads.scaling if run.mode == mode and run.parallel == level]


def paired_parallel(data: RunData, mode: str, level: int, base: str = "direct") -> Paired:
    """Per round: ``base``'s aggregate seconds ÷ ``mode``'s at ``level`` parallel uploads."""
    theirs = {run.round: run for run in runs_of(data, base, level)}
    return Paired(
        [theirs[run.round].seconds / run.seconds for run in runs_of(data, mode, level) if run.round in theirs]
    )


def levels(data: RunData) -> list[int]:
    return sorted({run.parallel for run in data.uploads.scaling if not run.mode.startswith("fleet")})


def _starts(runs: Sequence[ScalingRun]) -> list[float]:
    return sorted(value for run in runs for value in run.upstream_created_after)


def _start_text(starts: Sequence[float]) -> str:
    if not starts:
        return "n/a"
    p90 = statistics.quantiles(starts, n=10)[-1] if len(starts) > 1 else starts[0]
    return f"{median(starts):.3f} / {p90:.3f} / {max(starts):.3f}"


def _mib(kib: float) -> str:
    return f"{kib / 1024:.1f}"


def _aggregate(data: RunData, runs: Sequence[ScalingRun], size: int) -> float:
    return median([run.parallel * size / MIB / run.seconds for run in runs])


def _cpu_text(runs: Sequence[ScalingRun], cores: int) -> str:
    wall = median([run.seconds for run in runs])
    client = median([run.client_cpu_seconds for run in runs])
    server = median([run.server_cpu_seconds for run in runs])
    gateway = [run.gateway_cpu_seconds for run in runs if run.gateway_cpu_seconds is not None]
    parts = [f"{client:.2f}"] + ([f"{median(gateway):.2f}"] if gateway else []) + [f"{server:.2f}"]
    busy = client + server + (median(gateway) if gateway else 0.0)
    return f"{' + '.join(parts)} in {wall:.2f} s ({busy / (cores * wall):.0%} of {cores} cores)"


# -- tables ----------------------------------------------------------------------------------


def single_table(data: RunData) -> list[str]:
    """The gateway against LegacyClient, one upload at a time, per size."""
    sizes = [size for size in data.sizes if data.uploads.of("gateway", size) and data.uploads.of(DIRECT, size)]
    if not sizes:
        return []
    lines = [
        "### One upload: the gateway against the same upload made directly",
        "",
        f"From the uploads above: a V1 `PUT` through the gateway (defaults) against `LegacyClient.upload` ({DIRECT}) "
        "in the same rounds. 'upstream start' is, per upload, the time from the client's first body byte to the "
        "upstream's TUS creation `POST` (its `creation_date`): median / max over the rounds.",
        "",
        "| size | gateway ÷ direct speed (median of paired ratios, min-max) | gateway median s | direct median s "
        "| upstream start median / max s | gateway peak RSS MiB (sum of VmHWM) | gateway CPU s (median) |",
        "|---|---|---:|---:|---|---:|---:|",
    ]
    for size in sizes:
        gateway, direct = data.uploads.of("gateway", size), data.uploads.of(DIRECT, size)
        starts = sorted(r.upstream_created_after for r in gateway if r.upstream_created_after is not None)
        start = f"{median(starts):.3f} / {max(starts):.3f}" if starts else "n/a"
        lines.append(
            f"| {size_label(size)} | {paired_uploads(data, size).text()} | {median([r.seconds for r in gateway]):.3f} "
            f"| {median([r.seconds for r in direct]):.3f} | {start} | {_mib(max(r.vmhwm_kib for r in gateway))} "
            f"| {median([r.gateway_cpu_seconds or 0.0 for r in gateway]):.2f} |"
        )
    return lines


def parallel_table(data: RunData) -> list[str]:
    """Parallel uploads per level: each gateway mode against direct LegacyClient threads."""
    size = data.scaling_size
    if not data.uploads.scaling:
        return []
    chunk = default_chunk_size()
    lines = [
        f"### Parallel uploads ({size_label(size)} each)",
        "",
        "N V1 `PUT`s at once (threads of one client process, a barrier) through a fresh gateway, against the same "
        "N uploads made directly with `LegacyClient` (one per thread); modes alternate round-robin. Aggregate = "
        "all bytes ÷ time from the barrier to the last answer. 'upstream start': per upload, first body byte "
        "→ its TUS creation `POST` upstream, median / p90 / max over all uploads of all rounds. Memory of the "
        "gateway counts every process of it (supervisor + workers): 'VmHWM sum' adds each process's own peak "
        "(an upper bound: pages shared after the fork count once per process); 'Pss peak' is the highest sum of "
        "`Pss` (`/proc/<pid>/smaps_rollup`, shared pages divided among the sharers) sampled every 50 ms, the "
        "cgroup-less equivalent of the processes' joint peak. 'TMPDIR peak': the gateway's own `TMPDIR`, its "
        f"files' bytes sampled every 50 ms (chunk size {chunk // MIB} MiB, the default). CPU s: client + gateway "
        "(all processes) + upstream server.",
        "",
        "| N | mode | rounds | aggregate MiB/s | ÷ direct (median of paired ratios, min-max) | upstream start s "
        "median / p90 / max | VmHWM sum MiB | Pss peak MiB | TMPDIR peak MiB | CPU s |",
        "|---:|---|---:|---:|---|---|---:|---:|---:|---|",
    ]
    for level in levels(data):
        for mode in ["direct", *PARALLEL_MODES]:
            runs = runs_of(data, mode, level)
            if not runs:
                continue
            label = PARALLEL_MODES.get(mode, "direct `LegacyClient`")
            if mode == "direct":
                lines.append(
                    f"| {level} | {label} | {len(runs)} | {_aggregate(data, runs, size):.0f} | 1 | — "
                    f"| {_mib(max(r.vmhwm_kib for r in runs))} (client) | — | — | {_cpu_text(runs, data.cores)} |"
                )
                continue
            lines.append(
                f"| {level} | {label} | {len(runs)} | {_aggregate(data, runs, size):.0f} "
                f"| {paired_parallel(data, mode, level).text()} | {_start_text(_starts(runs))} "
                f"| {_mib(max(r.vmhwm_kib for r in runs))} | {_mib(max(r.pss_peak_kib for r in runs))} "
                f"| {max(r.tmp_peak_bytes for r in runs) / MIB:.0f} | {_cpu_text(runs, data.cores)} |"
            )
    top = max(levels(data), default=0)
    split = []
    for mode in PARALLEL_MODES:
        runs = runs_of(data, mode, top)
        if runs:
            keys = sorted({key for run in runs for key in run.thread_cpu})
            parts = ", ".join(f"{key} {median([run.thread_cpu.get(key, 0.0) for run in runs]):.2f}" for key in keys)
            split.append(f"{PARALLEL_MODES[mode]}: {parts}")
    if split:
        lines += [
            "",
            f"Gateway CPU seconds at x{top} by part (`/proc/<pid>/task/<tid>/stat`, medians): "
            + "; ".join(split)
            + ".",
        ]
    return lines


def fleet_table(data: RunData) -> list[str]:
    """Issue 13: two replicas on one PostgreSQL store against one."""
    one_levels = sorted({run.parallel for run in data.uploads.scaling if run.mode == "fleet-1"})
    if not one_levels:
        return []
    level = one_levels[-1]
    one, two = runs_of(data, "fleet-1", level), runs_of(data, "fleet-2", level)
    size = data.scaling_size
    lines = [
        f"### Two gateway replicas on one PostgreSQL store (x{level}, {size_label(size)} each)",
        "",
        f"One gateway (`--workers 1`) against two (`--workers 1` each) on one PostgreSQL store"
        f"{' (' + data.fleet_server + ')' if data.fleet_server else ''}, a database made for the run; the "
        f"{level} clients create their sessions and PUT through the replicas alternately; modes alternate "
        "round-robin.",
        "",
        "| replicas | rounds | aggregate MiB/s | ÷ one replica (median of paired ratios, min-max) | upstream start s "
        "median / p90 / max | Pss peak MiB (all) | CPU s |",
        "|---:|---:|---:|---|---|---:|---|",
    ]
    for count, runs in ((1, one), (2, two)):
        if not runs:
            lines.append(f"| {count} | 0 | FAILED | | | | |")
            continue
        ratio = "1" if count == 1 else paired_parallel(data, "fleet-2", level, base="fleet-1").text()
        lines.append(
            f"| {count} | {len(runs)} | {_aggregate(data, runs, size):.0f} | {ratio} | {_start_text(_starts(runs))} "
            f"| {_mib(max(r.pss_peak_kib for r in runs))} | {_cpu_text(runs, data.cores)} |"
        )
    return lines


def profile_lines(data: RunData) -> list[str]:
    profile = data.gateway_profile
    if profile is None:
        return []
    threads = ", ".join(f"{key} {value:.2f} s" for key, value in profile.thread_cpu.items() if value)
    lines = [
        f"### Where the gateway's CPU goes (x{profile.level}, one profiled worker)",
        "",
        f"An extra x{profile.level} run (not in the tables) through a gateway with `--workers 1` run under "
        f"{profile.profiler} (`bench/gwserve.py`); profiling slows it ({profile.seconds:.2f} s for the run), "
        f"compare shares. CPU by part from `/proc` during the run: {threads}.",
        "",
        "| function (self CPU) | calls | self s | share of all self time |",
        "|---|---:|---:|---:|",
    ]
    for name, calls, seconds in profile.top_self:
        lines.append(f"| `{name}` | {calls} | {seconds:.2f} | {seconds / profile.total_self_s:.0%} |")
    lines += ["", "| function of compat/hypercorn (inclusive CPU) | calls | total s |", "|---|---:|---:|"]
    for name, calls, seconds in profile.top_total:
        lines.append(f"| `{name}` | {calls} | {seconds:.2f} |")
    if profile.control_steps:
        lines += [
            "",
            f"The control path: {profile.level} PUTs of 1 MiB at once through the same kind of gateway under "
            f"{profile.control_profiler}; wall seconds per call of each step of a PUT (waits for the GIL, the "
            "store's lock and the upstream included; `Translator.upload` is the whole PUT, "
            "`ResumableUploader._create` the upstream creation `POST`):",
            "",
            "| step | calls | wall s per call |",
            "|---|---:|---:|",
        ]
        for name, calls, seconds in profile.control_steps:
            lines.append(f"| `{name}` | {calls} | {seconds:.3f} |")
    return lines


def section(data: RunData) -> list[str]:
    """The whole 'Gateway' section."""
    parts = [single_table(data), parallel_table(data), fleet_table(data), profile_lines(data)]
    lines: list[str] = []
    for part in parts:
        if part:
            lines += [*part, ""]
    return lines


# -- targets ---------------------------------------------------------------------------------


def gateway_targets(data: RunData, findings: dict[str, str], target: type[Target]) -> list[Target]:
    rows: list[Target] = []
    singles = [size for size in data.sizes if data.uploads.of("gateway", size) and data.uploads.of(DIRECT, size)]
    if singles:
        size = max(singles)
        paired = paired_uploads(data, size)
        met = paired.median >= SINGLE_TARGET
        rows.append(
            target(
                f"one {size_label(size)} PUT through the gateway ≥ {SINGLE_TARGET}x the same upload by `LegacyClient` "
                "(issue 12)",
                paired.text(),
                met,
                "" if met else findings.get("gateway:single", ""),
            )
        )
    top = max(levels(data), default=0)
    for mode, label in PARALLEL_MODES.items():
        paired = paired_parallel(data, mode, top)
        if paired.ratios:
            met = paired.median >= PARALLEL_TARGET
            rows.append(
                target(
                    f"x{top} PUTs of {size_label(data.scaling_size)} through the gateway ({label}) ≥ "
                    f"{PARALLEL_TARGET}x direct (issue 12)",
                    paired.text(),
                    met,
                    "" if met else findings.get(f"gateway:parallel:{mode}", ""),
                )
            )
    starts = {level: _starts(runs_of(data, "gateway-w1", level)) for level in levels(data)}
    starts = {level: values for level, values in starts.items() if values}
    if starts:
        worst = max(median(values) for values in starts.values())
        met = worst <= START_TARGET_S
        rows.append(
            target(
                f"upstream start ≤ {START_TARGET_S} s after the PUT's first body byte at every level (`--workers 1`; "
                "median per level, max in brackets) (issue 12)",
                "; ".join(f"x{lv}: {median(v):.3f} s ({max(v):.3f})" for lv, v in starts.items()),
                met,
                "" if met else findings.get("gateway:start", ""),
            )
        )
    for mode, label in PARALLEL_MODES.items():
        runs = runs_of(data, mode, top)
        if runs:
            hwm = max(r.vmhwm_kib for r in runs) / 1024
            pss = max(r.pss_peak_kib for r in runs) / 1024
            met = hwm <= RSS_TARGET_MIB
            rows.append(
                target(
                    f"gateway peak RSS ≤ {RSS_TARGET_MIB:.0f} MiB at x{top} ({label}; all processes: sum of VmHWM) "
                    "(issue 12)",
                    f"{hwm:.1f} MiB sum of VmHWM; sampled Pss peak {pss:.1f} MiB",
                    met,
                    "" if met else findings.get(f"gateway:rss:{mode}", ""),
                )
            )
    chunk = default_chunk_size()
    for mode, label in PARALLEL_MODES.items():
        runs = runs_of(data, mode, top)
        if runs:
            peak = max(r.tmp_peak_bytes for r in runs)
            met = peak <= top * chunk
            rows.append(
                target(
                    f"TMPDIR peak ≤ {top} x chunk size ({top * chunk / MIB:.0f} MiB) at x{top} ({label}) (issue 12)",
                    f"{peak / MIB:.0f} MiB ({peak / chunk:.1f} chunks)",
                    met,
                    "" if met else findings.get(f"gateway:tmp:{mode}", ""),
                )
            )
    fleet_levels = sorted({run.parallel for run in data.uploads.scaling if run.mode == "fleet-2"})
    if fleet_levels:
        level = fleet_levels[-1]
        paired = paired_parallel(data, "fleet-2", level, base="fleet-1")
        if paired.ratios:
            met = paired.median >= 1.0
            rows.append(
                target(
                    f"two gateway replicas on one PostgreSQL store at x{level} reach at least the aggregate of one "
                    "(issue 13)",
                    paired.text(),
                    met,
                    "" if met else findings.get("fleet", ""),
                )
            )
    return rows


__all__ = ["GIB", "UploadRun", "gateway_targets", "levels", "paired_parallel", "paired_uploads", "runs_of", "section"]
