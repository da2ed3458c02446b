"""RESULTS.md from one run's measurements: the tables, the targets and the facts."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.common import MIB, size_label
from bench.contenders import NOTES
from bench.gwprofile import GatewayProfile
from bench.harness import median
from bench.imports import ImportStep
from bench.report_gateway import gateway_targets
from bench.report_gateway import section as gateway_section
from bench.serverprof import ServerProfile
from bench.startup import HELP, SECTION_END, SECTION_START, TARGET_RATIO, StartupResult, startup_lines
from bench.uploads import UploadResults, UploadRun

BASELINE = "plain-put"
SHIM = ("compat-v3", "compat-legacy")
RATIO_TARGET = 0.95
RSS_TARGET_MIB = 64.0
CONTROL_TARGET_US = 1000.0
CONTROL_POSTGRES_TARGET_US = 2000.0  # issue 13: the PostgreSQL store adds at most 2 ms per control call


@dataclass
class Target:
    """One row of the targets table."""

    target: str
    measured: str
    met: bool
    finding: str = ""


@dataclass
class RunData:
    """Everything the report is made from."""

    command: str
    facts: dict[str, str]
    sizes: list[int]
    contenders: list[str]
    repeats: dict[int, int]
    uploads: UploadResults
    control: dict[str, Any] | None
    control_profile: list[tuple[str, float, int]]
    scaling_size: int
    scaling_levels: list[int]
    imports: list[ImportStep]
    importtime: dict[str, Any] | None
    gateway_profile: GatewayProfile | None
    duration_s: float
    server_profile: list[ServerProfile] = field(default_factory=list)
    main_probe: dict[str, Any] | None = None
    control_postgres: dict[str, Any] | None = None  # the control calls again, the store in PostgreSQL
    cores: int = 2
    notes: list[str] = field(default_factory=list)
    startup: StartupResult | None = None
    fleet_server: str | None = None


def _mib(kib: float) -> str:
    return f"{kib / 1024:.1f}"


def _speed(size: int, seconds: float) -> float:
    return size / MIB / seconds


# -- uploads ---------------------------------------------------------------------------------


def upload_medians(data: RunData) -> dict[tuple[str, int], float]:
    """Median seconds per (contender, size)."""
    return {
        (contender, size): median([run.seconds for run in data.uploads.of(contender, size)])
        for size in data.sizes
        for contender in data.contenders
        if data.uploads.of(contender, size)
    }


def peak_rss(data: RunData, contender: str) -> tuple[float, int] | None:
    """Highest VmHWM (KiB) of a contender over all sizes, with the size it was seen at."""
    runs = [run for run in data.uploads.runs if run.contender == contender]
    if not runs:
        return None
    top = max(runs, key=lambda run: run.vmhwm_kib)
    return top.vmhwm_kib, top.size


def _upload_table(data: RunData, size: int) -> list[str]:
    medians = upload_medians(data)
    base = medians.get((BASELINE, size))
    lines = [
        f"### {size_label(size)} ({data.repeats[size]} rounds)",
        "",
        "| contender | runs | median s | MiB/s | time ÷ plain-put | speed vs plain-put | min-max s "
        "| client CPU s | server CPU s | RSS after imports MiB | peak RSS (VmHWM) MiB | verified |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for contender in data.contenders:
        runs = data.uploads.of(contender, size)
        failed = sum(1 for f in data.uploads.failures if f.what.startswith(f"{contender} {size_label(size)} "))
        skipped = [s for s in data.uploads.skips if s.contender == contender and s.size == size]
        if skipped:
            lines.append(f"| {contender} | skipped | | | | | | | | | | {skipped[0].reason} |")
            continue
        if not runs:
            lines.append(f"| {contender} | 0/{failed} | FAILED | | | | | | | | | |")
            continue
        seconds = [run.seconds for run in runs]
        mid = median(seconds)
        ratio = f"{mid / base:.2f}x" if base else "n/a"
        speed = f"{base / mid:.2f}x" if base else "n/a"
        cpu = median([run.cpu_seconds for run in runs])
        if contender == "gateway":
            cpu_text = f"{cpu:.2f} + gateway {median([run.gateway_cpu_seconds or 0.0 for run in runs]):.2f}"
        else:
            cpu_text = f"{cpu:.2f}"
        hashed = sum(1 for run in runs if run.verified.endswith("sha256"))
        lines.append(
            f"| {contender} | {len(runs)}/{len(runs) + failed} | {mid:.3f} | {_speed(size, mid):.0f} | {ratio} "
            f"| {speed} | {min(seconds):.3f}-{max(seconds):.3f} | {cpu_text} "
            f"| {median([run.server_cpu_seconds for run in runs]):.2f} "
            f"| {_mib(max(run.baseline_rss_kib for run in runs))} | {_mib(max(run.vmhwm_kib for run in runs))} "
            f"| size {len(runs)}/{len(runs)}, sha256 {hashed} |"
        )
    return lines


# -- control calls ---------------------------------------------------------------------------


def control_rows(
    data: RunData, record: dict[str, Any] | None = None
) -> list[tuple[str, float, float, float, float, float]]:
    """Per operation: shim median, direct median, added, shim p90, direct p90 (µs); of ``record``
    (default: the control calls with the SQLite store)."""
    rows: list[tuple[str, float, float, float, float, float]] = []
    record = data.control if record is None else record
    if not record:
        return rows
    for operation, sides in record["timings_us"].items():
        shim, direct = sides["shim"], sides["direct"]
        rows.append(
            (
                operation,
                median(shim),
                median(direct),
                median(shim) - median(direct),
                statistics.quantiles(shim, n=10)[-1],
                statistics.quantiles(direct, n=10)[-1],
            )
        )
    return rows


def _control_table(data: RunData) -> list[str]:
    if not data.control:
        return ["Not measured (see failures)."]
    calls = len(next(iter(data.control["timings_us"].values()))["shim"])
    lines = [
        f"{calls} timed calls per operation and side after {data.control['warmup']} warm-up calls, interleaved "
        "(order alternating); µs per call, from the call to its parsed answer.",
        "",
        "| call | LegacyClient median µs | direct `requests.Session` median µs | added by the shim µs "
        "| LegacyClient p90 µs | direct p90 µs |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for operation, shim, direct, added, shim90, direct90 in control_rows(data):
        lines.append(f"| {operation} | {shim:.0f} | {direct:.0f} | {added:+.0f} | {shim90:.0f} | {direct90:.0f} |")
    if data.control_profile:
        total = sum(seconds for _, seconds, _ in data.control_profile[:1])
        lines += [
            "",
            "Where the shim's time goes: cProfile of the same LegacyClient calls (no direct calls), cumulative "
            "µs per create_session + get_result + delete cycle; profiling inflates every figure, compare shares:",
            "",
            "| function | calls per cycle | µs per cycle | share of the cycle |",
            "|---|---:|---:|---:|",
        ]
        for name, seconds, calls in data.control_profile:
            lines.append(f"| `{name}` | {calls} | {seconds:.0f} | {seconds / total:.0%} |")
    if data.control_postgres:
        lines += [
            "",
            f'The same calls with the shim\'s state in PostgreSQL (`store="postgresql://…"`, '
            f"{data.control_postgres.get('server', 'PostgreSQL')}, a database made for the run), measured the "
            "same way in a process of its own:",
            "",
            "| call | LegacyClient median µs | direct median µs | added by the shim µs | LegacyClient p90 µs "
            "| direct p90 µs |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for operation, shim, direct, added, shim90, direct90 in control_rows(data, data.control_postgres):
            lines.append(f"| {operation} | {shim:.0f} | {direct:.0f} | {added:+.0f} | {shim90:.0f} | {direct90:.0f} |")
    return lines


# -- imports ---------------------------------------------------------------------------------


def _imports_table(data: RunData) -> list[str]:
    if not data.imports:
        return ["Not measured (see failures)."]
    lines = [
        "Each step imports on top of the steps above it, in one fresh interpreter (`VmRSS` and wall time); "
        "the Python heap column is `tracemalloc`'s traced memory in a second fresh interpreter (objects only).",
        "",
        "| step | loaded for | RSS after MiB | RSS added MiB | Python heap added MiB | seconds | modules added |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for step in data.imports:
        lines.append(
            f"| {step.label} | {step.why} | {_mib(step.rss_kib)} | {_mib(step.added_rss_kib)} "
            f"| {step.added_heap_bytes / MIB:.1f} | {step.seconds:.3f} | {step.added_modules} |"
        )
    if data.importtime:
        top = ", ".join(f"{name} {us / 1000:.0f} ms" for name, us in data.importtime["top"])
        lines += [
            "",
            f'`python -X importtime -c "{data.importtime["statement"]}"`: '
            f"{data.importtime['total_us'] / 1000:.0f} ms in all; self time by package: {top}.",
        ]
    return lines


# -- targets ---------------------------------------------------------------------------------


def targets(data: RunData, findings: dict[str, str]) -> list[Target]:
    """Every target of issue 6 item 2, measured; ``findings`` explains the missed ones by key."""
    rows: list[Target] = []
    medians = upload_medians(data)
    for size in [s for s in data.sizes if s >= 256 * MIB]:
        base = medians.get((BASELINE, size))
        for contender in SHIM:
            mid = medians.get((contender, size))
            if base is None or mid is None:
                rows.append(
                    Target(f"{contender} upload ≥ 0.95x plain PUT at {size_label(size)}", "not measured", False)
                )
                continue
            ratio = base / mid
            key = f"ratio:{contender}:{size}"
            rows.append(
                Target(
                    f"{contender} upload speed ≥ {RATIO_TARGET}x plain PUT at {size_label(size)}",
                    f"{ratio:.2f}x ({_speed(size, mid):.0f} vs {_speed(size, base):.0f} MiB/s, medians)",
                    ratio >= RATIO_TARGET,
                    findings.get(key, "") if ratio < RATIO_TARGET else "",
                )
            )
    for contender in SHIM:
        peak = peak_rss(data, contender)
        if peak is None:
            rows.append(Target(f"{contender} peak RSS ≤ {RSS_TARGET_MIB:.0f} MiB", "not measured", False))
            continue
        kib, size = peak
        after_imports = max(run.baseline_rss_kib for run in data.uploads.runs if run.contender == contender)
        rows.append(
            Target(
                f"{contender} peak RSS ≤ {RSS_TARGET_MIB:.0f} MiB at any size, default settings",
                f"{_mib(kib)} MiB (highest VmHWM, at {size_label(size)}); {_mib(after_imports)} MiB after imports",
                kib / 1024 <= RSS_TARGET_MIB,
                findings.get(f"rss:{contender}", "") if kib / 1024 > RSS_TARGET_MIB else "",
            )
        )
    for operation, _, _, added, _, _ in control_rows(data):
        rows.append(
            Target(
                f"≤ 1 ms added per control call: {operation}",
                f"{added:+.0f} µs (median)",
                added <= CONTROL_TARGET_US,
                findings.get(f"control:{operation}", "") if added > CONTROL_TARGET_US else "",
            )
        )
    for operation, _, _, added, _, _ in control_rows(data, data.control_postgres) if data.control_postgres else []:
        rows.append(
            Target(
                f"≤ 2 ms added per control call with the PostgreSQL store: {operation}",
                f"{added:+.0f} µs (median)",
                added <= CONTROL_POSTGRES_TARGET_US,
                findings.get(f"control-postgres:{operation}", "") if added > CONTROL_POSTGRES_TARGET_US else "",
            )
        )
    rows += gateway_targets(data, findings, Target)
    if data.startup is not None:
        rows.append(
            Target(
                f'`{HELP}` ≤ {TARGET_RATIO}x `python -c "import requests"` (issue 11, item 8; min of '
                f"{data.startup.rounds})",
                f"{data.startup.ratio:.2f}x ({data.startup.best(HELP):.3f} vs "
                f"{data.startup.best('import requests'):.3f} s)",
                data.startup.met,
            )
        )
    return rows


def render(data: RunData, rows: Sequence[Target], findings_text: Sequence[str]) -> str:
    """The whole RESULTS.md."""
    lines = [
        "# Benchmark results",
        "",
        "Generated by one run of the command below (it overwrites this file). Every contender runs in a fresh "
        "Python process against the same loopback `@tus/server` (Node), contenders alternating round-robin "
        "(each round starts one contender later). Seconds cover building the client, opening the file and the "
        "whole upload. Peak RSS is `VmHWM` from `/proc/<pid>/status` (for the gateway: "
        "the sum over its processes, supervisor and workers). "
        "Every stored upload's size is checked, and its sha256 once per contender and size, outside the timing.",
        "",
        "```",
        data.command,
        "```",
        "",
        f"Whole run: {data.duration_s / 60:.1f} min.",
        "",
        "Machine and setup:",
        "",
        *[f"- {key}: {value}" for key, value in data.facts.items()],
        "",
        "## Targets (issue 6, item 2; issue 11, item 8; issues 12 and 13)",
        "",
        "| target | measured | met | profile finding and what would close it |",
        "|---|---|---|---|",
        *[f"| {r.target} | {r.measured} | {'yes' if r.met else '**no**'} | {r.finding or '—'} |" for r in rows],
        "",
        "## Uploads",
        "",
        "Contenders:",
        "",
        *[f"- `{name}`: {NOTES[name]}" for name in data.contenders],
        "",
        "'speed vs plain-put' is plain-put's median seconds ÷ the contender's (≥ 1 is faster); 'client CPU s' "
        "is the worker's user+system CPU in the timed region; 'server CPU s' is the Node server's over the "
        "worker's life; 'RSS after imports' is `VmRSS` right after the contender's library was imported "
        "(for the gateway: the gateway process after start-up).",
        "",
    ]
    for size in data.sizes:
        lines += [*_upload_table(data, size), ""]
    if data.server_profile:
        lines += [
            "### The server's CPU per GiB",
            "",
            "V8 CPU profile of a separate server per contender (2 uploads each; `bench/node-cpuprof.cjs`): the "
            "server's single JS thread, ms per GiB received.",
            "",
            "| contender | busy ms per GiB | GC ms per GiB | top self time (ms per GiB) |",
            "|---|---:|---:|---|",
        ]
        for profile in data.server_profile:
            top = ", ".join(f"`{name}` {ms:.0f}" for name, ms in profile.top)
            lines.append(
                f"| {profile.contender} | {profile.busy_ms_per_gib:.0f} | {profile.gc_ms_per_gib:.0f} | {top} |"
            )
        lines.append("")
    lines += [
        "## Control-call overhead",
        "",
        *_control_table(data),
        "",
        "## Gateway (issues 12 and 13)",
        "",
        *gateway_section(data),
        "## Import cost",
        "",
        *_imports_table(data),
        "",
    ]
    if data.startup is not None:
        lines += ["## Start-up", "", SECTION_START, *startup_lines(data.startup), SECTION_END, ""]
    if findings_text:
        paragraphs = list(findings_text)
        while paragraphs and not paragraphs[-1]:
            paragraphs.pop()
        lines += ["## Findings", "", *paragraphs, ""]
    if data.notes:
        lines += ["## Notes", "", *[f"- {note}" for note in data.notes], ""]
    if data.uploads.failures:
        lines += ["## Failures", ""]
        for failure in data.uploads.failures:
            lines += [f"{failure.what}:", "", "```", failure.message.rstrip(), "```", ""]
    return "\n".join(lines).rstrip() + "\n"


__all__ = ["RunData", "Target", "UploadRun", "render", "targets"]
