"""The parent's side of the upload and scaling measurements: scheduling, verification, clean-up."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import MIB, make_source, sha256_file, size_label
from bench.contenders import CONTENDERS
from bench.gateway import GatewayProcess, Sampler
from bench.harness import BenchError, cpu_seconds_of, iso_timestamp, log, mem_available_bytes, run_worker


@dataclass
class UploadRun:
    """One upload by one contender, as its worker measured it and the parent checked it."""

    contender: str
    size: int
    round: int
    seconds: float
    cpu_seconds: float
    interpreter_rss_kib: int
    baseline_rss_kib: int
    vmhwm_kib: int
    verified: str
    server_cpu_seconds: float
    client_vmhwm_kib: int | None = None
    gateway_cpu_seconds: float | None = None
    upstream_created_after: float | None = None


@dataclass(frozen=True)
class Mode:
    """How parallel uploads are made: ``direct`` (LegacyClient threads) or through ``replicas`` gateways,
    each with ``workers`` worker processes, on a SQLite file each or on one shared PostgreSQL store."""

    name: str
    replicas: int = 0
    workers: int = 1
    shared_store: bool = False

    @property
    def direct(self) -> bool:
        return self.replicas == 0


MODES = {
    "direct": Mode("direct"),
    "gateway-w1": Mode("gateway-w1", replicas=1, workers=1),
    "gateway-w2": Mode("gateway-w2", replicas=1, workers=2),
    "fleet-1": Mode("fleet-1", replicas=1, workers=1, shared_store=True),
    "fleet-2": Mode("fleet-2", replicas=2, workers=1, shared_store=True),
}


@dataclass
class ScalingRun:
    """``parallel`` uploads at once, directly or through the gateway(s) of ``mode``."""

    mode: str
    parallel: int
    round: int
    seconds: float
    upload_seconds: list[float]
    vmhwm_kib: int  # direct: the client process's; gateway: the sum over every gateway process
    client_vmhwm_kib: int
    verified: str
    client_cpu_seconds: float
    server_cpu_seconds: float
    gateway_cpu_seconds: float | None
    upstream_created_after: list[float]  # per upload: its TUS POST after its first body byte (gateway)
    pss_peak_kib: int = 0
    rss_peak_kib: int = 0
    tmp_peak_bytes: int = 0
    tmp_peak_allocated: int = 0
    thread_cpu: dict[str, float] = field(default_factory=dict)


@dataclass
class Skip:
    """A contender left out of a size, and why."""

    contender: str
    size: int
    reason: str


@dataclass
class Failure:
    """A worker that failed or an upload that did not verify."""

    what: str
    message: str


@dataclass
class UploadResults:
    """Everything the upload and scaling measurements gathered."""

    runs: list[UploadRun] = field(default_factory=list)
    scaling: list[ScalingRun] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    sources: dict[int, str] = field(default_factory=dict)

    def of(self, contender: str, size: int) -> list[UploadRun]:
        return [run for run in self.runs if run.contender == contender and run.size == size]


def schedule(contenders: Sequence[str], repeat: int) -> list[tuple[int, str]]:
    """Round-robin order; each round starts one contender later, so none always goes first."""
    order: list[tuple[int, str]] = []
    for index in range(repeat):
        shift = index % len(contenders)
        order.extend((index + 1, name) for name in [*contenders[shift:], *contenders[:shift]])
    return order


def tuspy_default_fits(size: int) -> str | None:
    """Why tuspy's whole-file chunk cannot be measured at ``size`` here, or ``None`` when it can.

    It holds the file in memory (one ``bytes``) while the request is sent; leave twice that plus
    1 GiB for everything else.
    """
    available = mem_available_bytes()
    if 2 * size + 1024 * MIB > available:
        return f"would need about {2 * size / MIB:.0f} MiB of RAM, {available / MIB:.0f} MiB available"
    return None


class UploadBench:
    """Runs the contenders against one :class:`tests.tus_server.TusServer`, verifying every upload."""

    def __init__(self, server: Any, work: Path, *, timeout: float) -> None:
        self.server = server
        self.work = work
        self.timeout = timeout
        self.results = UploadResults()
        self._hashed: set[tuple[str, int]] = set()

    # single uploads -----------------------------------------------------------------------

    def run_size(self, size: int, contenders: Sequence[str], repeat: int) -> None:
        """Write a source of ``size`` random bytes and upload it ``repeat`` times with each contender."""
        source = self.work / f"source-{size_label(size).replace(' ', '')}.wav"
        log(f"writing {size_label(size)} of random data to {source.name} ...")
        self.results.sources[size] = make_source(source, size)
        chosen = list(contenders)
        if "tuspy-default" in chosen:
            reason = tuspy_default_fits(size)
            if reason is not None:
                chosen.remove("tuspy-default")
                self.results.skips.append(Skip("tuspy-default", size, reason))
                log(f"tuspy-default skipped at {size_label(size)}: {reason}")
        try:
            for number, contender in schedule(chosen, repeat):
                self._one(contender, size, number, source)
        finally:
            source.unlink(missing_ok=True)

    def _one(self, contender: str, size: int, number: int, source: Path) -> None:
        what = f"{contender} {size_label(size)} round {number}"
        state = self.work / f"state-{contender}-{number}"
        state.mkdir()
        gateway: GatewayProcess | None = None
        try:
            args = ["--file", str(source), "--state-dir", str(state), "--session-id", f"bench-{number}"]
            if contender == "plain-put":
                url = self.server.sink_url(f"{contender}-{number}")
            elif contender.startswith("tuspy") or contender == "plain-patch":
                url = self.server.endpoint
            elif contender == "gateway":
                gateway = GatewayProcess(self.server.base_url, state / "gateway")
                url = gateway.url
            else:
                url = self.server.base_url
            server_cpu = cpu_seconds_of(self.server.pid)
            gateway_cpu = gateway.cpu_seconds() if gateway is not None else 0.0
            record = run_worker("upload", [contender, "--url", url, *args], timeout=self.timeout)
            server_cpu = cpu_seconds_of(self.server.pid) - server_cpu
            client_peak = None
            created_after = None
            if gateway is not None:
                gateway_cpu = gateway.cpu_seconds() - gateway_cpu
                created = [iso_timestamp(upload.creation_date) for upload in self.server.uploads()]
                if created and created[0] is not None:
                    created_after = created[0] - (record.get("first_body_at") or record["started_at"])
                client_peak = record["vmhwm_kib"]
                record["vmhwm_kib"] = gateway.vmhwm_sum_kib()
                record["baseline_rss_kib"] = gateway.startup_rss_kib
                record["interpreter_rss_kib"] = gateway.startup_rss_kib
                code = gateway.stop()
                if code != 0:
                    raise BenchError(f"the gateway exited with {code} after SIGTERM")
            verified = self._verify_one(contender, size, record)
        except (BenchError, OSError, KeyError, ValueError) as exc:
            self._failed(what, exc)
            return
        finally:
            if gateway is not None:
                gateway.stop()
            shutil.rmtree(state, ignore_errors=True)
            self._clean_server()
        run = UploadRun(
            contender=contender,
            size=size,
            round=number,
            seconds=record["seconds"],
            cpu_seconds=record["cpu_seconds"],
            interpreter_rss_kib=record["interpreter_rss_kib"],
            baseline_rss_kib=record["baseline_rss_kib"],
            vmhwm_kib=record["vmhwm_kib"],
            verified=verified,
            server_cpu_seconds=server_cpu,
            client_vmhwm_kib=client_peak,
            gateway_cpu_seconds=gateway_cpu if gateway is not None else None,
            upstream_created_after=created_after,
        )
        self.results.runs.append(run)
        log(
            f"{what}: {run.seconds:.3f} s, {size / MIB / run.seconds:.0f} MiB/s, "
            f"VmHWM {run.vmhwm_kib / 1024:.1f} MiB (after imports {run.baseline_rss_kib / 1024:.1f}), {verified}"
        )

    def _verify_one(self, contender: str, size: int, record: dict[str, Any]) -> str:
        """Check what the server holds; sha256 once per contender and size (outside any timing)."""
        if contender == "plain-put":
            path = self.server.sink_path(record["sink"])
            stored = path.stat().st_size if path.is_file() else -1
            if stored != size:
                raise BenchError(f"the sink holds {stored} bytes, expected {size}")
        else:
            uploads = self.server.uploads()
            if len(uploads) != 1:
                raise BenchError(f"the server holds {len(uploads)} uploads, expected 1")
            upload = uploads[0]
            if not upload.complete or upload.size != size:
                raise BenchError(f"the upload holds {upload.offset} of {upload.size} bytes, expected {size}")
            expected_session = record.get("session_id")
            if expected_session and upload.metadata.get("session_id") != expected_session:
                raise BenchError(f"upload metadata {upload.metadata!r} does not name session {expected_session}")
            path = upload.path
        return self._maybe_hash(contender, size, path)

    def _maybe_hash(self, what: str, size: int, path: Path) -> str:
        if (what, size) in self._hashed:
            return "size"
        digest = sha256_file(path)
        if digest != self.results.sources[size]:
            raise BenchError(f"sha256 of the stored copy {digest} differs from the source's")
        self._hashed.add((what, size))
        return "size+sha256"

    def _failed(self, what: str, exc: Exception) -> None:
        """Record a failed run and say so on the log (its last line of explanation)."""
        self.results.failures.append(Failure(what, str(exc)))
        log(f"{what}: FAILED: {str(exc).strip().splitlines()[-1] if str(exc).strip() else exc!r}")

    def _clean_server(self) -> None:
        directory = Path(self.server.directory)
        if directory.is_dir():
            for path in directory.iterdir():
                if path.is_file():
                    path.unlink(missing_ok=True)

    # parallel uploads ---------------------------------------------------------------------

    def run_scaling(
        self, size: int, levels: Sequence[int], repeat: int, modes: Sequence[str], *, store: str | None = None
    ) -> None:
        """``level`` parallel uploads of ``size`` bytes in each of ``modes``, round-robin (each round and level
        starts one mode later). ``store``: the PostgreSQL URL of the modes with a shared store."""
        source = self.work / f"parallel-{size_label(size).replace(' ', '')}.wav"
        if size not in self.results.sources or not source.exists():
            log(f"writing {size_label(size)} of random data to {source.name} for the parallel runs ...")
            self.results.sources[size] = make_source(source, size)
        try:
            for number in range(1, repeat + 1):
                for level in levels:
                    shift = (number + level) % len(modes)
                    for mode in [*modes[shift:], *modes[:shift]]:
                        self._parallel(MODES[mode], level, number, size, source, store)
        finally:
            source.unlink(missing_ok=True)

    def _parallel(self, mode: Mode, level: int, number: int, size: int, source: Path, store: str | None) -> None:
        what = f"parallel {mode.name} x{level} round {number}"
        state = self.work / f"scaling-{mode.name}-{level}-{number}"
        state.mkdir()
        gateways: list[GatewayProcess] = []
        try:
            for replica in range(mode.replicas):
                gateways.append(
                    GatewayProcess(
                        self.server.base_url,
                        state / f"gateway-{replica}",
                        workers=mode.workers,
                        store=store if mode.shared_store else None,
                    )
                )
            url = ",".join(g.url for g in gateways) if gateways else self.server.base_url
            kind = "direct" if mode.direct else "gateway"
            args = [kind, "--url", url, "--file", str(source), "--parallel", str(level), "--state-dir", str(state)]
            server_cpu = cpu_seconds_of(self.server.pid)
            gateway_cpu = sum(g.cpu_seconds() for g in gateways)
            threads_before = [g.thread_cpu() for g in gateways]
            with Sampler(gateways) as sampler:
                record = run_worker("scaling", args, timeout=self.timeout)
            server_cpu = cpu_seconds_of(self.server.pid) - server_cpu
            gateway_cpu = sum(g.cpu_seconds() for g in gateways) - gateway_cpu
            thread_cpu: dict[str, float] = {}
            for gateway, before in zip(gateways, threads_before, strict=True):
                for key, value in gateway.thread_cpu().items():
                    thread_cpu[key] = thread_cpu.get(key, 0.0) + value - before.get(key, 0.0)
            peak = sum(g.vmhwm_sum_kib() for g in gateways) if gateways else record["vmhwm_kib"]
            first_body: dict[str, float | None] = record.get("first_body_at") or {}
            created_after = []
            for upload in self.server.uploads():
                created = iso_timestamp(upload.creation_date)
                started = first_body.get(upload.metadata.get("session_id", ""))
                if created is not None and started is not None:
                    created_after.append(created - started)
            for gateway in gateways:
                if gateway.stop() != 0:
                    raise BenchError("a gateway did not exit cleanly after SIGTERM")
            verified = self._verify_parallel(mode.name, level, size, record["session_ids"])
        except (BenchError, OSError, KeyError, ValueError) as exc:
            self._failed(what, exc)
            return
        finally:
            for gateway in gateways:
                gateway.stop()
            shutil.rmtree(state, ignore_errors=True)
            self._clean_server()
        run = ScalingRun(
            mode=mode.name,
            parallel=level,
            round=number,
            seconds=record["seconds"],
            upload_seconds=record["upload_seconds"],
            vmhwm_kib=peak,
            client_vmhwm_kib=record["vmhwm_kib"],
            verified=verified,
            client_cpu_seconds=record["cpu_seconds"],
            server_cpu_seconds=server_cpu,
            gateway_cpu_seconds=gateway_cpu if gateways else None,
            upstream_created_after=sorted(created_after),
            pss_peak_kib=sampler.pss_peak_kib,
            rss_peak_kib=sampler.rss_peak_kib,
            tmp_peak_bytes=sampler.tmp_peak_bytes,
            tmp_peak_allocated=sampler.tmp_peak_allocated,
            thread_cpu=thread_cpu,
        )
        self.results.scaling.append(run)
        extra = ""
        if gateways:
            start = max(created_after) if created_after else float("nan")
            extra = (
                f"; upstream start max {start:.3f} s; gateway VmHWM sum {peak / 1024:.0f} MiB, "
                f"Pss peak {sampler.pss_peak_kib / 1024:.0f} MiB; TMPDIR peak {sampler.tmp_peak_bytes / MIB:.0f} MiB"
            )
        log(f"{what}: {run.seconds:.2f} s, {level * size / MIB / run.seconds:.0f} MiB/s aggregate, {verified}{extra}")

    def _verify_parallel(self, mode: str, level: int, size: int, session_ids: list[str]) -> str:
        uploads = self.server.uploads()
        by_session = {upload.metadata.get("session_id"): upload for upload in uploads}
        if len(uploads) != level or set(by_session) != set(session_ids):
            raise BenchError(f"the server holds {len(uploads)} uploads for other sessions than the {level} sent")
        for upload in uploads:
            if not upload.complete or upload.size != size:
                raise BenchError(f"upload {upload.id} holds {upload.offset} of {upload.size} bytes, expected {size}")
        return self._maybe_hash(f"scaling-{mode}-{level}", size, uploads[0].path)


__all__ = ["CONTENDERS", "MODES", "Mode", "UploadBench", "UploadResults", "UploadRun", "schedule"]
