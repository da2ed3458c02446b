"""The findings: what this run's own measurements say about each target, missed ones first.

Every sentence here is built from figures of the same run (the tables, the server's CPU profile,
the gateway's py-spy samples, the import steps), so a new run never carries stale explanations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.common import MIB, size_label
from bench.harness import median

if TYPE_CHECKING:
    from bench.report import RunData


def findings(data: RunData) -> tuple[dict[str, str], list[str]]:
    """(short finding per target key, paragraphs for the Findings section)."""
    keyed: dict[str, str] = {}
    text: list[str] = []
    _uploads(data, keyed, text)
    _memory(data, keyed, text)
    _control(data, keyed, text)
    _gateway(data, keyed, text)
    if data.main_probe is not None and not data.main_probe.get("ok"):
        text += [
            "**A bug found on the way (compat).** A `LegacyClient` call made from a module run with "
            "`python -m` fails under the default warning mode (`SCRIPTIX_COMPAT_WARN=once`): "
            f"`{data.main_probe.get('error')}` (probe: `python -m bench.mainprobe`). `compat.staging.notice` "
            "passes the caller's `module_globals` to `warnings.warn_explicit`; for `__main__` run with `-m`, "
            "the module's loader is named after the module, not `__main__`, so `get_source('__main__')` raises "
            "and CPython lets that escape from the warning. Fix: call `warn_explicit` without `module_globals` "
            "when `module_globals['__name__'] == '__main__'` and its `__spec__` names another module (or catch "
            "`ImportError` and warn again without them). The bench's workers run their code from imported "
            "modules (`bench/worker.py`) so as not to trip it.",
            "",
        ]
    return keyed, text


def _server_busy(data: RunData, contender: str) -> float | None:
    for profile in data.server_profile:
        if profile.contender == contender:
            return profile.busy_ms_per_gib
    return None


def _uploads(data: RunData, keyed: dict[str, str], text: list[str]) -> None:
    big = [size for size in data.sizes if size >= 256 * MIB]
    if not big:
        return
    parts: list[str] = []
    for size in big:
        plain = data.uploads.of("plain-put", size)
        patch = data.uploads.of("plain-patch", size)
        if not plain:
            continue
        base = median([r.seconds for r in plain])
        base_cpu = median([r.server_cpu_seconds for r in plain])
        floor = median([r.seconds for r in patch]) if patch else None
        for contender in ("compat-v3", "compat-legacy"):
            runs = data.uploads.of(contender, size)
            if not runs:
                continue
            mid = median([r.seconds for r in runs])
            server_cpu = median([r.server_cpu_seconds for r in runs])
            client_cpu = median([r.cpu_seconds for r in runs])
            finding = (
                f"Server-bound: the Node server used {server_cpu:.2f} s CPU for this upload vs {base_cpu:.2f} s for "
                f"plain-put's (same bytes; its single JS thread is the bottleneck; the client used {client_cpu:.2f} s)"
            )
            if floor is not None:
                finding += (
                    f"; even plain-patch, one bare streaming TUS PATCH, reaches only {base / floor:.2f}x plain-put, "
                    f"and {contender} is at {floor / mid:.2f}x plain-patch"
                )
            finding += ". The server's TUS PATCH path costs it more per byte than its sink (see Findings)."
            v3_runs = data.uploads.of("compat-v3", size)
            extra_cpu = client_cpu - median([r.cpu_seconds for r in v3_runs]) if v3_runs else 0.0
            if contender == "compat-legacy" and extra_cpu > 0.25 * client_cpu:
                finding += (
                    f" The client's share counts too: LegacyClient used {extra_cpu:.2f} s more CPU than V3Client for "
                    "the same bytes, the SHA-256 receipt of every chunk it records in its store so that a retried "
                    "upload of the session resumes only over matching bytes (issue 12); on 2 cores shared with the "
                    "server that CPU is time. To close: skip the receipts for a local file whose fingerprint "
                    "already identifies it (a retry from another copy of the file would then start a new upload "
                    "instead of resuming), or give the server its own cores."
                )
            else:
                finding += (
                    " To close: nothing in the client's bytes path; compare against a server whose TUS path is as "
                    "cheap as its sink, or give the server its own cores; fewer, larger chunks cut the server's "
                    "per-PATCH GC."
                )
            keyed[f"ratio:{contender}:{size}"] = finding
        if floor is not None:
            parts.append(f"{size_label(size)}: plain-patch {base / floor:.2f}x plain-put")
    sink, patch_busy, compat_busy = (_server_busy(data, name) for name in ("plain-put", "plain-patch", "compat-v3"))
    if sink and patch_busy and compat_busy:
        profiles = {p.contender: p for p in data.server_profile}
        tops = "; ".join(
            f"{name}: " + ", ".join(f"`{fn}` {ms:.0f}" for fn, ms in profiles[name].top[:3])
            for name in ("plain-put", "plain-patch", "compat-v3")
        )
        text += [
            "**Upload speed is set by the server here.** The Node server (one JS thread) is busy "
            f"{sink:.0f} ms per GiB receiving plain-put's sink PUT, {patch_busy:.0f} ms per GiB for plain-patch's "
            f"single TUS PATCH and {compat_busy:.0f} ms per GiB for compat-v3's 50 MiB PATCHes (V8 CPU profile of "
            "a separate server per contender, 2 uploads each; GC "
            + ", ".join(f"{p.contender} {p.gc_ms_per_gib:.0f}" for p in data.server_profile)
            + f" ms per GiB). Top self time, ms per GiB: {tops}. `@tus/server` 2.x hands each PATCH body "
            "through a web-stream adapter (`onData` in Node's `internal/webstreams/adapters`) into the file "
            "store; the sink pipes the request straight into a file. So a TUS client on this server cannot "
            "match the sink PUT: the honest client-side comparison is with plain-patch ("
            + ", ".join(parts)
            + "); compat's own CPU per upload is below plain-put's (client CPU column). The remaining gap "
            "between compat and plain-patch is per-PATCH work on the server (21 PATCHes per GiB at 50 MiB: "
            "request set-up, upload info read, more garbage to collect) plus one round trip per chunk.",
            "",
        ]


def _memory(data: RunData, keyed: dict[str, str], text: list[str]) -> None:
    steps = {step.label.split(" ")[0]: step for step in data.imports}
    if not steps:
        return
    fernet = steps.get("cryptography.fernet")
    compat_init = steps.get("compat/__init__")
    v3 = steps.get("compat.v3.client")
    requests_step = steps.get("requests")
    peaks = {}
    for contender in ("compat-v3", "compat-legacy"):
        runs = [r for r in data.uploads.runs if r.contender == contender]
        if runs:
            peaks[contender] = (max(r.vmhwm_kib for r in runs), max(r.baseline_rss_kib for r in runs))
    lazy = []
    if fernet:
        lazy.append(
            f"cryptography's Fernet (+{fernet.added_rss_kib / 1024:.1f} MiB, a Rust extension) is already lazy: "
            "it loads on the first `LegacyClient.create_session`, which is why compat-legacy peaks higher than "
            "compat-v3; sealing the V1 options with the standard library (an HMAC-SHA256 keystream, or AES-GCM "
            "only when cryptography is already loaded) would save it"
        )
    if compat_init and v3:
        lazy.append(
            f"`compat/__init__` importing every public name costs only +{compat_init.added_rss_kib / 1024:.1f} MiB "
            "after V3Client's own imports: not worth making lazy for memory"
        )
    summary = ", ".join(
        f"{name} peaks at {peak / 1024:.1f} MiB ({base / 1024:.1f} MiB after imports)"
        for name, (peak, base) in peaks.items()
    )
    if requests_step and v3:
        text += [
            f"**Memory.** {summary}: the upload itself adds about a MiB (bodies are streamed in 256 KiB blocks), "
            "so the peak is the imports. Of the baseline, the interpreter is "
            f"{data.imports[0].rss_kib / 1024:.1f} MiB and requests (with urllib3, ssl, charset_normalizer) "
            f"+{requests_step.added_rss_kib / 1024:.1f} MiB, which plain-put pays too. What could be lazy or "
            "dropped: " + "; ".join(lazy) + ".",
            "",
        ]


def _control(data: RunData, keyed: dict[str, str], text: list[str]) -> None:
    if not data.control or not data.control_profile:
        return
    timings = data.control["timings_us"]
    added = {op: median(sides["shim"]) - median(sides["direct"]) for op, sides in timings.items()}
    cycle = data.control_profile[0][1]
    shares = sorted(
        ((name, seconds / cycle) for name, seconds, _ in data.control_profile[1:] if "requests" not in name),
        key=lambda item: -item[1],
    )[:5]
    shown = ", ".join(f"`{name}` {share:.0%}" for name, share in shares)
    text += [
        "**Control calls.** The shim adds "
        + ", ".join(f"{value:+.0f} µs to {op}" for op, value in added.items())
        + f" (medians). Under cProfile the largest non-HTTP shares of a create+get_result+delete cycle are {shown} "
        "(cumulative; nested rows overlap).",
        "",
    ]
    for operation, value in added.items():
        if value > 1000:
            keyed[f"control:{operation}"] = f"{value:.0f} µs added; largest shares under cProfile: {shown}."


def _gateway(data: RunData, keyed: dict[str, str], text: list[str]) -> None:
    from bench.findings_gateway import gateway_findings

    gateway_findings(data, keyed, text)
