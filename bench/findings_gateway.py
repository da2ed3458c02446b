"""Findings of the gateway's rows (issues 12 and 13), built from the same run's figures."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.common import GIB, MIB, size_label
from bench.harness import median
from bench.report_gateway import DIRECT, PARALLEL_MODES, levels, runs_of

if TYPE_CHECKING:
    from bench.report import RunData


def _profile_summary(data: RunData, top: int = 5) -> str:
    profile = data.gateway_profile
    if profile is None:
        return ""
    shown = ", ".join(
        f"`{name.split(' (')[0]}` {seconds / profile.total_self_s:.0%}" for name, _, seconds in profile.top_self[:top]
    )
    return f" Profile of the gateway at x{profile.level} ({profile.profiler}), largest self-time shares: {shown}."


def _cpu_per_gib(runs: list, size: int) -> tuple[float, float, float]:
    """Median CPU seconds per GiB moved: client, gateway, server."""
    moved = [run.parallel * size / GIB for run in runs]
    client = median([run.client_cpu_seconds / gib for run, gib in zip(runs, moved, strict=True)])
    gateway = median([(run.gateway_cpu_seconds or 0.0) / gib for run, gib in zip(runs, moved, strict=True)])
    server = median([run.server_cpu_seconds / gib for run, gib in zip(runs, moved, strict=True)])
    return client, gateway, server


CLOSE_THROUGHPUT = (
    " What would close it: the gateway's CPU per byte, on a machine where it shares 2 cores with the client and "
    "the single-threaded Node server. Its event loop is hypercorn's asyncio server, which reads a connection "
    "64 KiB at a time (a constant of hypercorn) and passes each block through h11 and an ASGI message: a server "
    "with a native HTTP parser and larger reads (granian, Rust with its own threads) would cut that share; its "
    "request threads copy each byte into the one-chunk spool file (a 50 MiB chunk is over the 8 MiB memory "
    "bound), hash it (SHA-256 receipt) and send it: chunks at or under the memory bound skip the file (at 8 MiB "
    "of memory per upload in flight). Or give the gateway cores of its own (its own host, `--workers N`). "
    "Tried during development and kept: a timeout scope per body message instead of `asyncio.wait_for` (the "
    "event loop's CPU per GiB fell by about a third) and SHA-256 receipts instead of BLAKE2b (half the hashing "
    "CPU). Tried and not kept: uvloop (event-loop CPU 3.04 -> 2.96 s at x16, within this machine's noise)."
)
CLOSE_START = (
    " The 16 PUTs' control paths share one process (one GIL), the store and the upstream: each waits for its "
    "first body message (the empty-body probe), claims the session in the store and creates the upload "
    "upstream (a `POST` the busy Node server answers late); the control-path profile below gives each step's "
    "wall time. What would close it: `--workers 2` or more (fewer PUTs per process), and creating the upstream "
    "upload before the store's bookkeeping of the PUT."
)
CLOSE_RSS = (
    " What would close it in the sum: start the workers from a fresh interpreter instead of a fork (nothing "
    "shared to double count, but each pays its imports), or count a cgroup's peak."
)


def gateway_findings(data: RunData, keyed: dict[str, str], text: list[str]) -> None:
    """Keyed findings of the missed gateway targets, and the Findings paragraph on the gateway."""
    singles = [size for size in data.sizes if data.uploads.of("gateway", size) and data.uploads.of(DIRECT, size)]
    profile = _profile_summary(data)
    if singles:
        size = max(singles)
        gateway, direct = data.uploads.of("gateway", size), data.uploads.of(DIRECT, size)
        g_cpu = median([run.gateway_cpu_seconds or 0.0 for run in gateway]) / (size / GIB)
        c_cpu = median([run.cpu_seconds for run in gateway]) / (size / GIB)
        d_cpu = median([run.cpu_seconds for run in direct]) / (size / GIB)
        s_g = median([run.server_cpu_seconds for run in gateway]) / (size / GIB)
        s_d = median([run.server_cpu_seconds for run in direct]) / (size / GIB)
        keyed["gateway:single"] = (
            f"CPU per GiB: gateway path {c_cpu:.2f} (client) + {g_cpu:.2f} (gateway) + {s_g:.2f} (server) against "
            f"{d_cpu:.2f} (LegacyClient) + {s_d:.2f} (server) directly: the extra hop costs {g_cpu:.2f} CPU-s per GiB "
            f"on a machine whose 2 cores also run the client and the single-threaded Node server.{profile}"
            + CLOSE_THROUGHPUT
        )
    top = max(levels(data), default=0)
    for mode, label in PARALLEL_MODES.items():
        runs, direct = runs_of(data, mode, top), runs_of(data, "direct", top)
        if not runs or not direct:
            continue
        size = data.scaling_size
        client, gateway, server = _cpu_per_gib(runs, size)
        d_client, _, d_server = _cpu_per_gib(direct, size)
        wall = median([run.seconds for run in runs])
        busy = median(
            [run.client_cpu_seconds + (run.gateway_cpu_seconds or 0.0) + run.server_cpu_seconds for run in runs]
        )
        split = ""
        parts = {key for run in runs for key in run.thread_cpu}
        if parts:
            split = (
                " Gateway CPU by part: "
                + ", ".join(
                    f"{key} {median([run.thread_cpu.get(key, 0.0) for run in runs]):.2f} s" for key in sorted(parts)
                )
                + "."
            )
        keyed[f"gateway:parallel:{mode}"] = (
            f"CPU-bound: CPU per GiB {client:.2f} (client) + {gateway:.2f} (gateway) + {server:.2f} (server) = "
            f"{client + gateway + server:.2f} against {d_client:.2f} + {d_server:.2f} = {d_client + d_server:.2f} "
            f"directly; the cores were {busy / (data.cores * wall):.0%} busy ({label}).{split}{profile}"
            + CLOSE_THROUGHPUT
        )
    starts = {
        level: [v for run in runs_of(data, "gateway-w1", level) for v in run.upstream_created_after]
        for level in levels(data)
    }
    worst = {level: max(values) for level, values in starts.items() if values}
    if worst:
        slowest = ", ".join(f"x{lv} {v:.3f} s" for lv, v in worst.items())
        keyed["gateway:start"] = f"The slowest starts: {slowest}." + CLOSE_START
    for mode, label in PARALLEL_MODES.items():
        runs = runs_of(data, mode, top)
        if runs:
            keyed[f"gateway:rss:{mode}"] = (
                f"The sum of VmHWM counts the pages the workers share with the supervisor once per process; the "
                f"sampled Pss peak (shared pages divided) was {max(run.pss_peak_kib for run in runs) / 1024:.1f} MiB "
                f"for {label}." + CLOSE_RSS
            )
    fleet_level = max((run.parallel for run in data.uploads.scaling if run.mode == "fleet-2"), default=0)
    if fleet_level:
        one, two = runs_of(data, "fleet-1", fleet_level), runs_of(data, "fleet-2", fleet_level)
        if one and two:
            size = data.scaling_size
            c1, g1, s1 = _cpu_per_gib(one, size)
            c2, g2, s2 = _cpu_per_gib(two, size)
            keyed["fleet"] = (
                f"CPU per GiB with one replica {c1:.2f} + {g1:.2f} + {s1:.2f}, with two {c2:.2f} + {g2:.2f} + {s2:.2f} "
                "(client + gateways + server): on 2 cores a second replica adds no core, only its own process."
            )
    _control_postgres(data, keyed)
    if runs_of(data, "gateway-w1", top):
        size = data.scaling_size
        text += [
            f"**Gateway.** At x{top} ({size_label(size)} each, {top * size / MIB:.0f} MiB in all) the gateway streams: "
            "each PUT body goes into its TUS upload as it arrives (compat/v3/forward.py), so the upstream upload "
            "starts within milliseconds of the first body byte and the gateway keeps only the chunk in flight."
            + profile,
            "",
        ]


def _control_postgres(data: RunData, keyed: dict[str, str]) -> None:
    """Issue 13: the control calls with the PostgreSQL store, against the same calls with SQLite."""
    from bench.report import control_rows

    if not data.control_postgres:
        return
    sqlite = {row[0]: row for row in control_rows(data)}
    for operation, _, direct, added, _, _ in control_rows(data, data.control_postgres):
        base = sqlite.get(operation)
        versus = f" (SQLite store: {base[3]:+.0f} µs)" if base else ""
        keyed[f"control-postgres:{operation}"] = (
            f"{added:+.0f} µs added{versus}, the direct call itself {direct:.0f} µs: what the SQLite store adds, "
            "plus the store's round trips to the PostgreSQL server (a separate process on the same cores, so "
            "the machine's load counts twice). What would close it: fewer store round trips per call (see "
            "the cProfile of the control calls for the store's share), or the database on its own host."
        )


__all__ = ["gateway_findings"]
