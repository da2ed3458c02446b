"""The parent's side: running workers, progress, machine facts."""

from __future__ import annotations

import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from bench.common import KIB, MIB, REPO, TESTS_DIR


class BenchError(RuntimeError):
    """A worker failed, or the server holds something else than what was sent."""


def median(values: Sequence[float]) -> float:
    """The median, NaN for nothing."""
    return statistics.median(values) if values else float("nan")


_compat_root = REPO


def use_compat_root(path: Path) -> None:
    """Run workers and the gateway with ``compat`` imported from ``path/compat`` (a snapshot of a commit)."""
    global _compat_root
    _compat_root = path


def compat_root() -> Path:
    """The directory whose ``compat/`` package the workers import (the working directory of every worker)."""
    return _compat_root


def clean_env() -> dict[str, str]:
    """The environment for workers and the gateway: no ``SCRIPTIX_*`` setting, so defaults apply.

    Workers run in :func:`compat_root` (first on ``sys.path`` for ``python -m``), with the repository
    on ``PYTHONPATH`` for ``bench`` itself.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("SCRIPTIX_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    return env


def run_worker(kind: str, args: Sequence[str], *, timeout: float) -> dict[str, Any]:
    """Run ``python -m bench.worker <kind> <args>`` in a fresh interpreter and return its last JSON line.

    Raises:
        BenchError: The worker failed, timed out or printed no JSON line.
    """
    command = [sys.executable, "-m", "bench.worker", kind, *args]
    try:
        proc = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=_compat_root, env=clean_env(), check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"{kind} {' '.join(args[:1])} timed out after {timeout:g} s") from exc
    if proc.returncode != 0:
        tail = (proc.stderr + proc.stdout).strip().splitlines()[-15:]
        raise BenchError(f"{kind} {' '.join(args[:1])} exited with {proc.returncode}:\n" + "\n".join(tail))
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        output = proc.stdout[-2000:] + proc.stderr[-2000:]
        raise BenchError(f"{kind} {' '.join(args[:1])} printed no JSON line:\n{output}")
    record: dict[str, Any] = json.loads(lines[-1])
    return record


def cpu_seconds_of(pid: int | None) -> float:
    """User+system CPU seconds a process has used so far (``/proc/<pid>/stat``); 0 when unknown."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def iso_timestamp(text: str | None) -> float | None:
    """``2026-11-24T02:04:05.123Z`` (a JavaScript ``toISOString``) as a Unix time."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def log(message: str) -> None:
    """Progress on stderr, with the time of day."""
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


# -- facts about the machine and the software ---------------------------------------------------


def _node_version() -> str:
    try:
        return subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def node_package_version(name: str) -> str:
    """Version of a package in ``tests/tus-server/node_modules``."""
    package = TESTS_DIR / "tus-server" / "node_modules" / name / "package.json"
    try:
        return str(json.loads(package.read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError):
        return "?"


def python_package_version(name: str) -> str:
    """Installed version of a Python distribution, ``?`` when missing."""
    try:
        return importlib_metadata.version(name)
    except importlib_metadata.PackageNotFoundError:
        return "?"


def git_revision() -> str:
    """HEAD's short hash, and whether ``compat/`` has uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "compat"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return f"HEAD {head}{' + uncommitted changes in compat/' if dirty else ', no uncommitted changes in compat/'}"


def mem_available_bytes() -> int:
    """``MemAvailable`` of ``/proc/meminfo``."""
    meminfo = Path("/proc/meminfo").read_text(encoding="ascii", errors="replace")
    found = re.search(r"^MemAvailable:\s*(\d+) kB", meminfo, re.MULTILINE)
    return int(found.group(1)) * KIB if found else 0


def machine_facts() -> dict[str, str]:
    """CPU, memory, OS, Python, library versions and the commit."""
    cpu_model = "?"
    mem_total = "?"
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        models = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
        cpu_model = models[0].strip() if models else "?"
        meminfo = Path("/proc/meminfo").read_text(encoding="ascii", errors="replace")
        found = re.search(r"^MemTotal:\s*(\d+) kB", meminfo, re.MULTILINE)
        mem_total = f"{int(found.group(1)) / MIB:.1f} GiB" if found else "?"
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    libraries = ("requests", "urllib3", "tuspy", "pydantic", "hypercorn", "scriptix-compat")
    return {
        "cpus": f"{os.cpu_count()} ({usable} usable), {cpu_model}",
        "memory": mem_total,
        "os": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()} ({sys.executable})",
        "libraries": ", ".join(f"{name} {python_package_version(name)}" for name in libraries),
        "server": f"@tus/server {node_package_version('@tus/server')} + @tus/file-store "
        f"{node_package_version('@tus/file-store')} (tests/tus-server/server.mjs), Node {_node_version()}",
    }
