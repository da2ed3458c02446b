"""``scriptix-compat gateway`` as a subprocess, for the gateway measurements, and what is read of it.

Memory of a gateway with worker processes counts every process of it (the supervisor and its
forked workers, found as the supervisor's children in ``/proc``), two ways:

* ``vmhwm_sum_kib``: the sum of each process's ``VmHWM`` (its own peak resident set). Pages the
  workers share with the supervisor (copy-on-write after the fork: the interpreter and the imports)
  are counted once per process, and the peaks need not have been at the same time, so this is an
  upper bound;
* :class:`Sampler`'s ``pss_peak_kib``: the highest sum of ``Pss`` (``/proc/<pid>/smaps_rollup``:
  each shared page divided among the processes sharing it) over samples taken every 50 ms: what the
  gateway holds as a whole, the cgroup-less equivalent of a cgroup's memory peak (minus page cache).

The gateway gets a ``TMPDIR`` of its own (``directory / "tmp"``), which the sampler measures too: the
files in it and those unlinked but still open there (the chunk spool is a ``tempfile.TemporaryFile``).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

from bench.common import proc_status_kib
from bench.harness import BenchError, clean_env, compat_root

_READY = re.compile(r"scriptix-compat gateway: listening on (http://\S+)")
SAMPLE_EVERY = 0.05


class GatewayProcess:
    """One gateway (``python -m compat.cli gateway``) on a free loopback port.

    Its state file (unless ``store`` names another store) lives in ``directory``, its ``TMPDIR`` is
    ``directory / "tmp"`` and its stderr (log and access log) goes to ``directory / "gateway.log"``.
    ``workers``: ``--workers`` (None: the gateway's default, one per CPU). ``env``: extra environment.
    ``module``: what ``python -m`` runs, with its arguments before ``gateway`` (e.g. the profiler's).
    """

    def __init__(
        self,
        upstream: str,
        directory: Path,
        *,
        workers: int | None = None,
        store: str | None = None,
        env: dict[str, str] | None = None,
        module: tuple[str, ...] = ("compat.cli",),
        startup_timeout: float = 30.0,
    ) -> None:
        self.directory = directory
        self.tmpdir = directory / "tmp"
        self.tmpdir.mkdir(parents=True, exist_ok=True)
        self.log_path = directory / "gateway.log"
        command = [
            sys.executable,
            "-m",
            *module,
            "gateway",
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            upstream,
            "--store",
            store or str(directory / "state.sqlite3"),
        ]
        if workers is not None:
            command += ["--workers", str(workers)]
        environ = {**clean_env(), "TMPDIR": str(self.tmpdir), **(env or {})}
        with self.log_path.open("wb") as log_file:
            self.process = subprocess.Popen(
                command,
                cwd=compat_root(),
                env=environ,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log_file,
            )
        self.url = self._wait_ready(startup_timeout)
        self.expected_workers = workers
        self.pids = self._all_pids(startup_timeout)
        self.startup_rss_kib = sum(_kib("VmRSS", pid) for pid in self.pids)

    def _wait_ready(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = _READY.search(self.log_path.read_text(encoding="utf-8", errors="replace"))
            if found:
                return found.group(1)
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        raise BenchError("the gateway did not start:\n" + self.log_path.read_text(encoding="utf-8", errors="replace"))

    def _all_pids(self, timeout: float) -> list[int]:
        """The supervisor and its workers (the gateway logs one line per worker it started)."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
            started = len(re.findall(r"worker \d+ started \(pid \d+\)", text))
            children = _children(self.process.pid)
            if len(children) >= started or time.monotonic() > deadline:
                return [self.process.pid, *children]
            time.sleep(0.02)

    @property
    def pid(self) -> int:
        return self.process.pid

    def vmhwm_kib(self) -> int:
        """The supervisor's (or the single process's) peak resident set so far."""
        return proc_status_kib("VmHWM", self.process.pid)

    def vmhwm_sum_kib(self) -> int:
        """The sum of every gateway process's ``VmHWM`` (an upper bound: see the module docstring)."""
        return sum(_kib("VmHWM", pid) for pid in self.pids)

    def cpu_seconds(self) -> float:
        """User+system CPU seconds of every gateway process so far."""
        return sum(_cpu(pid) for pid in self.pids)

    def thread_cpu(self) -> dict[str, float]:
        """CPU seconds so far: the supervisor, the workers' main threads (hypercorn's event loop, which
        reads request bodies) and their other threads (one per request: the app and its TUS upload)."""
        out = {"supervisor": 0.0, "event loop (main thread)": 0.0, "request threads (app + TUS upload)": 0.0}
        for pid in self.pids:
            if pid == self.process.pid and len(self.pids) > 1:
                out["supervisor"] += _cpu(pid)
                continue
            main = _cpu(pid, pid)
            out["event loop (main thread)"] += main
            out["request threads (app + TUS upload)"] += _cpu(pid) - main  # exited threads count here too
        return out

    def stop(self) -> int | None:
        """SIGTERM (graceful), SIGKILL after 30 s; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode

    def __enter__(self) -> GatewayProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class Sampler:
    """Samples gateways every 50 ms in a thread: the highest sum of ``Pss`` and of ``VmRSS`` over all
    their processes, and the highest number of bytes in their ``TMPDIR`` (files' sizes and blocks)."""

    def __init__(self, gateways: list[GatewayProcess]) -> None:
        self.gateways = gateways
        self.pss_peak_kib = 0
        self.rss_peak_kib = 0
        self.tmp_peak_bytes = 0
        self.tmp_peak_allocated = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(SAMPLE_EVERY)

    def sample(self) -> None:
        pss = rss = size = allocated = 0
        for gateway in self.gateways:
            for pid in gateway.pids:
                pss += _pss_kib(pid)
                rss += _kib("VmRSS", pid)
            for stat in _tmp_files(gateway):
                size += stat.st_size
                allocated += stat.st_blocks * 512
        self.pss_peak_kib = max(self.pss_peak_kib, pss)
        self.rss_peak_kib = max(self.rss_peak_kib, rss)
        self.tmp_peak_bytes = max(self.tmp_peak_bytes, size)
        self.tmp_peak_allocated = max(self.tmp_peak_allocated, allocated)
        self.samples += 1

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sample()


def _tmp_files(gateway: GatewayProcess) -> list[os.stat_result]:
    """Every file in the gateway's TMPDIR: those with a name, and those already unlinked but held open
    (``tempfile.TemporaryFile``), found through ``/proc/<pid>/fd``; each file once."""
    found: dict[tuple[int, int], os.stat_result] = {}
    root = str(gateway.tmpdir)
    for directory, _, files in os.walk(root):
        for name in files:
            with contextlib.suppress(OSError):
                stat = os.stat(os.path.join(directory, name))
                found[(stat.st_dev, stat.st_ino)] = stat
    for pid in gateway.pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}").startswith(root + "/"):
                        stat = os.stat(f"/proc/{pid}/fd/{fd}")
                        found[(stat.st_dev, stat.st_ino)] = stat
    return list(found.values())


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text(encoding="ascii")
        return [int(part) for part in text.split()]
    except OSError:
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(stat[1]) == pid:
                    found.append(int(entry.name))
        return found


def _kib(field: str, pid: int) -> int:
    try:
        return proc_status_kib(field, pid)
    except (OSError, RuntimeError):
        return 0


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu(pid: int, tid: int | None = None) -> float:
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    try:
        fields = Path(path).read_text(encoding="ascii").rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


__all__ = ["GatewayProcess", "Sampler"]
