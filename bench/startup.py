"""Start-up: ``scriptix-compat --help`` against ``python -c "import requests"`` (issue 11, item 8).

    .venv/bin/python bench/startup.py                  # min of 5 each; prints the table and the ratio
    .venv/bin/python bench/startup.py --update-results # also rewrites the "Start-up" section of bench/RESULTS.md

Each command runs in a fresh interpreter, the commands alternating round-robin so that a busy
moment of the machine hits them alike; the figure per command is the minimum wall time of its runs
(start to exit, as a user waits for it), the least disturbed by other load; the CPU time the process
used (user + system) is shown beside it, as it depends far less on what else the machine runs. ``scriptix-compat
--help`` runs the console script's code (``from compat.cli import main``), with ``compat`` imported
from the working tree measured (:func:`bench.harness.compat_root`). The target: at most 1.3 times
``import requests``. ``bench/run.py`` measures the same as its ``startup`` part.
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import REPO
from bench.harness import BenchError, clean_env, compat_root

TARGET_RATIO = 1.3
DEFAULT_ROUNDS = 5
HELP = "scriptix-compat --help"
REQUESTS = "import requests"
# (label, Python statement): run as ``python -c <statement>``.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("python -c pass", "pass"),
    (REQUESTS, "import requests"),
    (HELP, "import sys; from compat.cli import main; sys.argv[0] = 'scriptix-compat'; sys.exit(main(['--help']))"),
    ("import compat", "import compat"),
    ("from compat import LegacyClient", "from compat import LegacyClient"),
)
SECTION_START = "<!-- startup:start (bench/startup.py writes this section) -->"
SECTION_END = "<!-- startup:end -->"


@dataclass
class StartupResult:
    """Wall times and CPU times (user + system) of each command's runs, in seconds."""

    rounds: int
    seconds: dict[str, list[float]] = field(default_factory=dict)
    cpu_seconds: dict[str, list[float]] = field(default_factory=dict)

    def best(self, label: str) -> float:
        return min(self.seconds[label])

    def best_cpu(self, label: str) -> float:
        return min(self.cpu_seconds[label])

    @property
    def ratio(self) -> float:
        """``scriptix-compat --help`` ÷ ``import requests``, minimum against minimum."""
        return self.best(HELP) / self.best(REQUESTS)

    @property
    def met(self) -> bool:
        return self.ratio <= TARGET_RATIO


def _run_once(statement: str) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one fresh interpreter running ``statement``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    finished = subprocess.run(
        [sys.executable, "-c", statement],
        cwd=compat_root(),
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=120,
        check=False,
    )
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # children run one at a time: the delta is this one
    if finished.returncode != 0:
        raise BenchError(f"`python -c {statement!r}` failed:\n{finished.stderr.decode(errors='replace')[-2000:]}")
    return seconds, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure_startup(rounds: int = DEFAULT_ROUNDS) -> StartupResult:
    """Every command ``rounds`` times, round-robin, each round starting one command later."""
    result = StartupResult(rounds, {label: [] for label, _ in COMMANDS}, {label: [] for label, _ in COMMANDS})
    for _, statement in COMMANDS:  # one untimed round: the page cache then holds every file they read
        _run_once(statement)
    for round_index in range(rounds):
        order = COMMANDS[round_index % len(COMMANDS) :] + COMMANDS[: round_index % len(COMMANDS)]
        for label, statement in order:
            seconds, cpu = _run_once(statement)
            result.seconds[label].append(seconds)
            result.cpu_seconds[label].append(cpu)
    return result


def startup_lines(result: StartupResult) -> list[str]:
    """The section's Markdown: the table and the target."""
    lines = [
        f"Each command in a fresh interpreter, {result.rounds} timed runs each after one untimed round, "
        "alternating round-robin; the minimum wall time of its runs (`bench/startup.py`). "
        f"`{HELP}` runs the console script's code.",
        "",
        "| command | min s | median s | ÷ `import requests` | min CPU s | CPU ÷ `import requests` |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    base, base_cpu = result.best(REQUESTS), result.best_cpu(REQUESTS)
    for label, _ in COMMANDS:
        runs = sorted(result.seconds[label])
        cpu = result.best_cpu(label)
        lines.append(
            f"| `{label}` | {runs[0]:.3f} | {runs[len(runs) // 2]:.3f} | {runs[0] / base:.2f}x "
            f"| {cpu:.3f} | {cpu / base_cpu:.2f}x |"
        )
    lines += [
        "",
        f"Target: `{HELP}` at most {TARGET_RATIO}x `import requests`: **{result.ratio:.2f}x**, "
        f"{'met' if result.met else 'not met'}. `--help` loads no HTTP stack: `import compat` loads the "
        "public names on first use, and each sub-command imports its code when it runs "
        "(`tests/unit/test_startup.py` checks which modules `--help` loads).",
    ]
    return lines


def update_results(result: StartupResult, path: Path) -> None:
    """Replace the marked start-up section of ``path`` (or add it before "## Findings")."""
    block = "\n".join(["## Start-up", "", SECTION_START, *startup_lines(result), SECTION_END])
    text = path.read_text(encoding="utf-8")
    marked = re.compile(r"## Start-up\n\n" + re.escape(SECTION_START) + r".*?" + re.escape(SECTION_END), re.DOTALL)
    if marked.search(text):
        text = marked.sub(lambda _: block, text)
    elif "\n## Findings\n" in text:
        text = text.replace("\n## Findings\n", f"\n{block}\n\n## Findings\n", 1)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, help=f"timed runs per command ({DEFAULT_ROUNDS})")
    parser.add_argument("--update-results", action="store_true", help="rewrite the section in bench/RESULTS.md")
    parser.add_argument("--results", type=Path, default=REPO / "bench" / "RESULTS.md", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    result = measure_startup(max(1, args.rounds))
    print("\n".join(startup_lines(result)))
    if args.update_results:
        update_results(result, args.results)
        print(f"\nwritten to {args.results}")
    return 0 if result.met else 1


if __name__ == "__main__":
    sys.exit(main())
