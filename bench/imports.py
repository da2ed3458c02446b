"""What importing the shim costs, step by step, in fresh processes.

The steps import, in order, what ``from compat import V3Client`` loads: each step's cost is what it
adds on top of the steps before it. ``compat.v3.client`` is first imported *without* running
``compat/__init__.py`` (a stand-in package module is put in ``sys.modules``), which shows what a lazy
``compat/__init__`` would leave a V3-only caller with; the next step runs the real ``__init__`` (which
loads public names on first use) and asks for the rest of them.

Three passes, each in its own fresh interpreter:

* ``VmRSS`` after each step and the step's wall time;
* ``tracemalloc``'s traced Python heap after each step (objects only: no shared libraries, no
  interpreter arenas) — it slows imports, so it has a pass of its own;
* ``python -X importtime`` of ``from compat import V3Client``: the modules with the most self time.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from bench.harness import BenchError, clean_env, compat_root

# (label, statement, why it is loaded)
STEPS: tuple[tuple[str, str, str], ...] = (
    ("requests", "import requests", "the transport (one pooled session)"),
    ("pydantic", "import pydantic", "Settings and the V3 answer models"),
    (
        "tusclient interfaces",
        "import tusclient.storage.interface, tusclient.fingerprint.interface",
        "the Storage and Fingerprint interfaces compat.store and compat.v3.source implement",
    ),
    ("platformdirs, sqlite3", "import platformdirs, sqlite3", "default store path, the store"),
    (
        "compat.v3.client (V3Client and what it needs)",
        "_bare_compat(); import compat.v3.client",
        "V3Client: config, errors, redact, store, transport, tus, source, models",
    ),
    (
        "compat's other public names (legacy, translate, intercept, media, v1, staging)",
        "import compat; from compat import LegacyClient, install",
        "`import compat` loads a public name on first use; these are the rest of them",
    ),
    (
        "cryptography.fernet",
        "import cryptography.fernet",
        "imported on the first LegacyClient.create_session (the session book seals V1 options)",
    ),
    ("compat.gateway (hypercorn, werkzeug)", "import compat.gateway", "the gateway process only"),
)

_CHILD = r"""
import json, os, sys, time, types
sys.path.insert(0, {repo!r})
TRACE = {trace!r}
if TRACE:
    import tracemalloc
    tracemalloc.start()

def rss():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

def heap():
    return tracemalloc.get_traced_memory()[0] if TRACE else 0

def _bare_compat():
    package = types.ModuleType("compat")
    package.__path__ = [os.path.join({repo!r}, "compat")]
    sys.modules["compat"] = package

def _real_compat():
    for name in [n for n in sys.modules if n == "compat" or n.startswith("compat.")]:
        if name == "compat":
            del sys.modules[name]

out = [{{"label": "interpreter", "rss_kib": rss(), "heap": heap(), "seconds": 0.0, "modules": len(sys.modules)}}]
for label, statement in {steps!r}:
    if statement.startswith("import compat;"):
        _real_compat()
    started = time.perf_counter()
    exec(statement)
    out.append({{"label": label, "rss_kib": rss(), "heap": heap(), "seconds": time.perf_counter() - started,
                 "modules": len(sys.modules)}})
print(json.dumps(out))
"""


@dataclass
class ImportStep:
    """One step of the chain: what it added."""

    label: str
    why: str
    rss_kib: int
    added_rss_kib: int
    added_heap_bytes: int
    seconds: float
    added_modules: int


def _run_chain(trace: bool) -> list[dict[str, Any]]:
    steps = [(label, statement) for label, statement, _ in STEPS]
    code = _CHILD.format(repo=str(compat_root()), trace=trace, steps=steps)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd="/", env=clean_env(), check=False, timeout=120
    )
    if proc.returncode != 0:
        raise BenchError(f"import chain failed:\n{proc.stderr[-3000:]}")
    result: list[dict[str, Any]] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def import_steps() -> list[ImportStep]:
    """The chain measured twice (RSS and time, then tracemalloc), as per-step increments."""
    plain = _run_chain(trace=False)
    traced = _run_chain(trace=True)
    steps = [ImportStep("interpreter", "python itself", plain[0]["rss_kib"], plain[0]["rss_kib"], 0, 0.0, 0)]
    for index, (label, _, why) in enumerate(STEPS, start=1):
        steps.append(
            ImportStep(
                label=label,
                why=why,
                rss_kib=plain[index]["rss_kib"],
                added_rss_kib=plain[index]["rss_kib"] - plain[index - 1]["rss_kib"],
                added_heap_bytes=traced[index]["heap"] - traced[index - 1]["heap"],
                seconds=plain[index]["seconds"],
                added_modules=plain[index]["modules"] - plain[index - 1]["modules"],
            )
        )
    return steps


_IMPORTTIME = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")


def importtime_top(statement: str = "from compat import V3Client", count: int = 8) -> dict[str, Any]:
    """``-X importtime`` of ``statement``: total microseconds and the top-level packages by self time."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        capture_output=True,
        text=True,
        cwd=compat_root(),
        env=clean_env(),
        check=False,
        timeout=120,
    )
    if proc.returncode != 0:
        raise BenchError(f"-X importtime failed:\n{proc.stderr[-3000:]}")
    by_package: dict[str, int] = {}
    total = 0
    for line in proc.stderr.splitlines():
        found = _IMPORTTIME.match(line)
        if found is None:
            continue
        self_us, cumulative_us, indent, name = int(found[1]), int(found[2]), found[3], found[4]
        package = name.split(".")[0]
        by_package[package] = by_package.get(package, 0) + self_us
        if len(indent) == 1:  # a top-level import of the statement
            total += cumulative_us
    top = sorted(by_package.items(), key=lambda item: -item[1])[:count]
    return {"statement": statement, "total_us": total, "top": top}
