"""The parent's side of the upload and scaling measurements: scheduling, verification, clean-up."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import MIB, make_source, sha256_file, size_label
from bench.contenders import CONTENDERS
from bench.gateway import GatewayProcess
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


@dataclass
class ScalingRun:
    """``parallel`` uploads at once, through the gateway or directly."""

    mode: str
    parallel: int
    round: int
    seconds: float
    upload_seconds: list[float]
    vmhwm_kib: int
    client_vmhwm_kib: int
    verified: str
    client_cpu_seconds: float
    server_cpu_seconds: float
    gateway_cpu_seconds: float | None
    upstream_created_after: list[float]


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
            gateway_cpu = cpu_seconds_of(gateway.pid) if gateway is not None else 0.0
            record = run_worker("upload", [contender, "--url", url, *args], timeout=self.timeout)
            server_cpu = cpu_seconds_of(self.server.pid) - server_cpu
            client_peak = None
            created_after = None
            if gateway is not None:
                gateway_cpu = cpu_seconds_of(gateway.pid) - gateway_cpu
                created = [iso_timestamp(upload.creation_date) for upload in self.server.uploads()]
                if created and created[0] is not None:
                    created_after = created[0] - record["started_at"]
                client_peak = record["vmhwm_kib"]
                record["vmhwm_kib"] = gateway.vmhwm_kib()
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

    def run_scaling(self, size: int, levels: Sequence[int], repeat: int) -> None:
        """``level`` parallel uploads of ``size`` bytes, through the gateway and directly, alternating."""
        source = self.work / f"parallel-{size_label(size).replace(' ', '')}.wav"
        log(f"writing {size_label(size)} of random data to {source.name} for the scaling runs ...")
        self.results.sources[size] = make_source(source, size)
        try:
            for number in range(1, repeat + 1):
                for level in levels:
                    modes = ("gateway", "direct") if (number + level) % 2 else ("direct", "gateway")
                    for mode in modes:
                        self._parallel(mode, level, number, size, source)
        finally:
            source.unlink(missing_ok=True)

    def _parallel(self, mode: str, level: int, number: int, size: int, source: Path) -> None:
        what = f"scaling {mode} x{level} round {number}"
        state = self.work / f"scaling-{mode}-{level}-{number}"
        state.mkdir()
        gateway: GatewayProcess | None = None
        try:
            if mode == "gateway":
                gateway = GatewayProcess(self.server.base_url, state / "gateway")
            url = gateway.url if gateway is not None else self.server.base_url
            args = [mode, "--url", url, "--file", str(source), "--parallel", str(level), "--state-dir", str(state)]
            server_cpu = cpu_seconds_of(self.server.pid)
            gateway_cpu = cpu_seconds_of(gateway.pid) if gateway is not None else 0.0
            record = run_worker("scaling", args, timeout=self.timeout)
            server_cpu = cpu_seconds_of(self.server.pid) - server_cpu
            if gateway is not None:
                gateway_cpu = cpu_seconds_of(gateway.pid) - gateway_cpu
            peak = gateway.vmhwm_kib() if gateway is not None else record["vmhwm_kib"]
            created = [iso_timestamp(upload.creation_date) for upload in self.server.uploads()]
            created_after = sorted(when - record["released_at"] for when in created if when is not None)
            if gateway is not None and gateway.stop() != 0:
                raise BenchError("the gateway did not exit cleanly after SIGTERM")
            verified = self._verify_parallel(mode, level, size, record["session_ids"])
        except (BenchError, OSError, KeyError, ValueError) as exc:
            self._failed(what, exc)
            return
        finally:
            if gateway is not None:
                gateway.stop()
            shutil.rmtree(state, ignore_errors=True)
            self._clean_server()
        run = ScalingRun(
            mode=mode,
            parallel=level,
            round=number,
            seconds=record["seconds"],
            upload_seconds=record["upload_seconds"],
            vmhwm_kib=peak,
            client_vmhwm_kib=record["vmhwm_kib"],
            verified=verified,
            client_cpu_seconds=record["cpu_seconds"],
            server_cpu_seconds=server_cpu,
            gateway_cpu_seconds=gateway_cpu if gateway is not None else None,
            upstream_created_after=created_after,
        )
        self.results.scaling.append(run)
        log(f"{what}: {run.seconds:.2f} s, {level * size / MIB / run.seconds:.0f} MiB/s aggregate, {verified}")

    def _verify_parallel(self, mode: str, level: int, size: int, session_ids: list[str]) -> str:
        uploads = self.server.uploads()
        by_session = {upload.metadata.get("session_id"): upload for upload in uploads}
        if len(uploads) != level or set(by_session) != set(session_ids):
            raise BenchError(f"the server holds {len(uploads)} uploads for other sessions than the {level} sent")
        for upload in uploads:
            if not upload.complete or upload.size != size:
                raise BenchError(f"upload {upload.id} holds {upload.offset} of {upload.size} bytes, expected {size}")
        return self._maybe_hash(f"scaling-{mode}-{level}", size, uploads[0].path)


__all__ = ["CONTENDERS", "UploadBench", "UploadResults", "UploadRun", "schedule"]
