"""``scriptix-compat gateway`` as a subprocess with default settings, for the gateway measurements."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from bench.common import proc_status_kib
from bench.harness import BenchError, clean_env, compat_root

_READY = re.compile(r"scriptix-compat gateway: listening on (http://\S+)")


class GatewayProcess:
    """One gateway process (``python -m compat.cli gateway``) on a free loopback port.

    Its state file and its temporary files (the upload spools a PUT body to ``TMPDIR``) live in
    ``directory``; its stderr (log and access log) goes to ``directory / "gateway.log"``.
    """

    def __init__(self, upstream: str, directory: Path, *, startup_timeout: float = 30.0) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.log_path = directory / "gateway.log"
        command = [
            sys.executable,
            "-m",
            "compat.cli",
            "gateway",
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            upstream,
            "--store",
            str(directory / "state.sqlite3"),
        ]
        env = {**clean_env(), "TMPDIR": str(directory)}
        with self.log_path.open("wb") as log_file:
            self.process = subprocess.Popen(
                command,
                cwd=compat_root(),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log_file,
            )
        self.url = self._wait_ready(startup_timeout)
        self.startup_rss_kib = proc_status_kib("VmRSS", self.process.pid)

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

    @property
    def pid(self) -> int:
        return self.process.pid

    def vmhwm_kib(self) -> int:
        """The gateway's peak resident set so far."""
        return proc_status_kib("VmHWM", self.process.pid)

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
