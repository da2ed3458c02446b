"""The whole benchmark in one command; writes ``bench/RESULTS.md``.

    .venv/bin/python bench/run.py

In one run, against one loopback ``@tus/server`` (``tests/tus-server/server.mjs``, started here):

1. uploads of 16 MiB, 256 MiB and 1 GiB files by ``plain-put``, ``plain-patch`` (a reference: one bare
   TUS PATCH), ``tuspy-default``, ``tuspy-50MiB``, ``compat-v3``, ``compat-legacy`` and ``gateway`` (see
   ``bench/contenders.py``), round-robin, each upload in a fresh process, every stored upload verified;
2. the server's own CPU per GiB for plain-put, plain-patch and compat-v3 (V8 profiler, ``bench/serverprof.py``);
3. control-call overhead: ``LegacyClient`` against the same V3 calls made with plain ``requests``
   (``bench/control.py``), plus a cProfile of the shim's side;
4. the gateway (issue 12), ``scaling``: 1, 4 and 16 parallel 64 MiB V1 PUTs through a gateway with
   ``--workers 1`` and with ``--workers 2`` against the same uploads made directly with ``LegacyClient``
   in threads (``bench/scaling.py``), round-robin; per upload the time from its first body byte to its
   upstream creation ``POST``; every gateway process's memory (sum of ``VmHWM``, sampled ``Pss``) and
   its own ``TMPDIR`` sampled (``bench/gateway.py``); CPU per process and per thread group;
   ``fleet`` (issue 13): 16 parallel PUTs through one gateway against two replicas on one PostgreSQL
   store (a database made for the run on ``--postgres`` and dropped after it); ``gwprofile``: an extra
   x16 run under yappi (``pip install -e '.[bench]'``; else cProfile) and a control-path run (1 MiB PUTs,
   wall clock) (``bench/gwprofile.py``);
5. the cost of importing the shim, step by step (``bench/imports.py``), and a probe of a legacy call
   made from a module run with ``python -m`` (``bench/mainprobe.py``);
6. start-up: ``scriptix-compat --help`` against ``python -c "import requests"``, min of 5 each
   (``bench/startup.py``, which also runs alone in a few seconds);

then the targets of issue 6 (item 2), issue 11 (item 8) and issues 12 and 13 are checked and ``bench/RESULTS.md`` is
written (``--output``).
``compat/`` is copied when the run starts (``--compat worktree``, the default) or taken from a commit
(``--compat REF``), so that edits made meanwhile do not mix into one run. Generated files live under
``bench/data/`` (git-ignored) and are removed at the end. About 20 minutes on 2 cores. Options
shrink a run for a quick look (``--quick``) or pick parts (``--parts scaling,fleet``).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import DATA_DIR, MIB, REPO, TESTS_DIR, parse_size, size_label
from bench.contenders import CONTENDERS
from bench.control import summarize_profile
from bench.findings import findings
from bench.gwprofile import profile_gateway
from bench.harness import (
    BenchError,
    clean_env,
    compat_root,
    git_revision,
    log,
    machine_facts,
    run_worker,
    use_compat_root,
)
from bench.imports import import_steps, importtime_top
from bench.pgdb import NoServer, scratch_database
from bench.report import RunData, render, targets
from bench.serverprof import ServerProfile, profile_server
from bench.startup import StartupResult, measure_startup
from bench.uploads import MODES, Failure, UploadBench

DEFAULT_SIZES = "16MiB,256MiB,1GiB"
DEFAULT_REPEATS = {16 * MIB: 9, 256 * MIB: 7, 1024 * MIB: 5}
PARTS = ("uploads", "server", "control", "scaling", "fleet", "gwprofile", "imports", "startup")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help=f"file sizes (default {DEFAULT_SIZES})")
    parser.add_argument(
        "--repeat", type=int, default=None, help="rounds per size (default: 9 at 16 MiB, 7 at 256 MiB, 5 at 1 GiB)"
    )
    parser.add_argument("--contenders", default=",".join(CONTENDERS), help="comma-separated subset")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}")
    parser.add_argument("--control-calls", type=int, default=1000, help="timed calls per operation and side")
    parser.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        metavar="URL",
        help="a PostgreSQL server (administrative URL) on which the control calls run again with the PostgreSQL "
        "store, in a database made for the run and dropped after it (the URL's query is kept for the store); "
        "'' to skip",
    )
    parser.add_argument("--scaling-size", default="64MiB", help="size of each parallel upload (64MiB)")
    parser.add_argument("--scaling-levels", default="1,4,16", help="parallel uploads (1,4,16)")
    parser.add_argument("--scaling-repeat", type=int, default=5, help="rounds per level and mode (5)")
    parser.add_argument(
        "--scaling-modes",
        default="direct,gateway-w1,gateway-w2",
        help="parallel uploads made directly (LegacyClient threads) and through a gateway with 1 or 2 worker "
        "processes (direct,gateway-w1,gateway-w2)",
    )
    parser.add_argument("--fleet-level", type=int, default=16, help="parallel uploads of the fleet part (16)")
    parser.add_argument("--fleet-repeat", type=int, default=5, help="rounds of the fleet part (5)")
    parser.add_argument("--quick", action="store_true", help="a quick look: 16MiB,256MiB, 2 rounds, fewer calls")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds allowed per worker (900)")
    parser.add_argument("--output", type=Path, default=REPO / "bench" / "RESULTS.md", help="the report file")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR, help="generated files (bench/data)")
    parser.add_argument(
        "--compat",
        default="worktree",
        metavar="REF",
        help="what compat/ is measured: `worktree` (default: the files as they are when the run starts, copied, "
        "so edits made during the run do not mix in) or a git commit (taken with `git archive`)",
    )
    args = parser.parse_args(argv)
    args.size_list = [parse_size(text) for text in args.sizes.split(",") if text.strip()]
    args.contender_list = [name.strip() for name in args.contenders.split(",") if name.strip()]
    args.part_list = [name.strip() for name in args.parts.split(",") if name.strip()]
    args.level_list = [int(text) for text in args.scaling_levels.split(",") if text.strip()]
    args.mode_list = [name.strip() for name in args.scaling_modes.split(",") if name.strip()]
    if args.quick:
        args.size_list = [s for s in args.size_list if s <= 256 * MIB] or args.size_list[:1]
        args.repeat = args.repeat or 2
        args.control_calls = min(args.control_calls, 200)
        args.scaling_repeat = min(args.scaling_repeat, 2)
        args.fleet_repeat = min(args.fleet_repeat, 2)
    unknown = (
        set(args.contender_list) - set(CONTENDERS)
        or set(args.part_list) - set(PARTS)
        or set(args.mode_list) - set(MODES)
    )
    if unknown:
        parser.error(f"unknown name(s): {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(TESTS_DIR))
    from tus_server import TusServer, node_ready

    if not node_ready():
        raise SystemExit("the TUS peer cannot start: need `node` on PATH and `npm ci` in tests/tus-server")
    args.data_dir.mkdir(parents=True, exist_ok=True)
    need = 2 * max(args.size_list, default=0) + 20 * parse_size(args.scaling_size) + 512 * MIB
    free = shutil.disk_usage(args.data_dir).free
    if free < need:
        raise SystemExit(f"not enough disk space in {args.data_dir}: {free} bytes free, need about {need}")
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="run-", dir=args.data_dir))
    repeats = {size: args.repeat or DEFAULT_REPEATS.get(size, 5) for size in args.size_list}
    measured = _use_compat(args.compat, work)
    notes: list[str] = []
    control = None
    control_postgres = None
    control_profile: list[tuple[str, float, int]] = []
    gateway_profile = None
    fleet_server = None
    server_profile: list[ServerProfile] = []
    main_probe = None
    steps = []
    importtime = None
    startup: StartupResult | None = None
    try:
        with TusServer(work / "server") as server:
            bench = UploadBench(server, work, timeout=args.timeout)
            if "imports" in args.part_list:
                log("import cost ...")
                try:
                    steps = import_steps()
                    importtime = importtime_top()
                except BenchError as exc:
                    bench.results.failures.append(Failure("imports", str(exc)))
            if "startup" in args.part_list:
                log("start-up ...")
                try:
                    startup = measure_startup()
                except BenchError as exc:
                    bench.results.failures.append(Failure("start-up", str(exc)))
            main_probe = _main_probe(server.base_url)
            if "control" in args.part_list:
                log("control-call overhead ...")
                control, control_profile = _control(bench, server.base_url, work, args)
                if args.postgres:
                    log("control-call overhead with the PostgreSQL store ...")
                    control_postgres = _control_postgres(bench, server.base_url, work, args, notes)
            if "uploads" in args.part_list:
                for size in args.size_list:
                    bench.run_size(size, args.contender_list, repeats[size])
            if "server" in args.part_list:
                log("the server's CPU profile per contender ...")
                try:
                    server_profile = profile_server(TusServer, work, 256 * MIB)
                except BenchError as exc:
                    bench.results.failures.append(Failure("server profile", str(exc)))
            scaling_size = parse_size(args.scaling_size)
            if "scaling" in args.part_list:
                bench.run_scaling(scaling_size, args.level_list, args.scaling_repeat, args.mode_list)
            if "fleet" in args.part_list:
                fleet_server = _fleet(bench, scaling_size, args, notes)
            if "gwprofile" in args.part_list:
                gateway_profile = profile_gateway(server, work, scaling_size, max(args.level_list), notes)
            server_peak = _node_peak(server.pid)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    facts = machine_facts()
    facts["compat measured"] = measured
    facts["machine load"] = (
        f"1-minute load average {load_before:.1f} when the run started, {os.getloadavg()[0]:.1f} when it ended "
        f"({os.cpu_count()} cores); other work on the machine shares the cores and makes single figures noisy: "
        "compare the paired ratios (contenders alternate round-robin, so each round sees about the same load)"
    )
    facts["server peak RSS"] = server_peak
    facts["files"] = "os.urandom data written once per size under bench/data/ (read from the page cache by all)"
    facts["rounds"] = ", ".join(f"{size_label(size)}: {count}" for size, count in repeats.items())
    data = RunData(
        command=shlex.join(_command_line()),
        facts=facts,
        sizes=args.size_list,
        contenders=args.contender_list,
        repeats=repeats,
        uploads=bench.results,
        control=control,
        control_profile=control_profile,
        control_postgres=control_postgres,
        scaling_size=parse_size(args.scaling_size),
        scaling_levels=args.level_list if "scaling" in args.part_list else [],
        imports=steps,
        importtime=importtime,
        gateway_profile=gateway_profile,
        duration_s=time.monotonic() - started,
        server_profile=server_profile,
        main_probe=main_probe,
        cores=os.cpu_count() or 1,
        notes=notes,
        startup=startup,
        fleet_server=fleet_server,
    )
    keyed, text = findings(data)
    rows = targets(data, keyed)
    report = render(data, rows, text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report, encoding="utf-8")
    log(f"report written to {args.output} ({data.duration_s / 60:.1f} min)")
    for row in rows:
        log(f"  {'met ' if row.met else 'MISS'} {row.target}: {row.measured}")
    return 1 if bench.results.failures else 0


def _use_compat(ref: str, work: Path) -> str:
    """Point the workers at ``ref``'s ``compat/`` (extracted under ``work``); describe what is measured."""
    snapshot = work / "compat-src"
    if ref == "worktree":
        shutil.copytree(REPO / "compat", snapshot / "compat", ignore=shutil.ignore_patterns("__pycache__"))
        use_compat_root(snapshot)
        return f"compat/ of the working tree, copied when the run started: {git_revision()}"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--verify", f"{ref}^{{commit}}"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        snapshot.mkdir()
        archive = subprocess.run(["git", "archive", commit, "compat"], cwd=REPO, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(snapshot)], input=archive.stdout, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise SystemExit(f"cannot take compat/ from {ref!r}: {exc}") from exc
    use_compat_root(snapshot)
    return f"compat/ of commit {commit[:12]} ({ref}), extracted with `git archive`; uncommitted edits not included"


def _main_probe(base_url: str) -> dict[str, Any] | None:
    """Whether a LegacyClient call from a module run with ``python -m`` works (see bench/mainprobe.py)."""
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "bench.mainprobe", base_url],
            capture_output=True,
            text=True,
            cwd=compat_root(),
            env=clean_env(),
            timeout=60,
            check=False,
        )
        result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
        return result
    except (OSError, ValueError, IndexError, subprocess.SubprocessError):
        return None


def _command_line() -> list[str]:
    argv = list(getattr(sys, "orig_argv", [sys.executable, *sys.argv]))
    if argv and Path(argv[0]).resolve() == Path(sys.executable).resolve():
        argv[0] = _relative(sys.executable)
    return [_relative(part) if part.endswith(".py") else part for part in argv]


def _relative(path: str) -> str:
    try:
        return str(Path(path).absolute().relative_to(REPO))
    except ValueError:
        return path


def _control(
    bench: UploadBench, base_url: str, work: Path, args: argparse.Namespace
) -> tuple[dict[str, object] | None, list[tuple[str, float, int]]]:
    state = work / "control"
    state.mkdir()
    warmup = 50
    common = ["--url", base_url, "--state-dir", str(state), "--warmup", str(warmup)]
    try:
        record = run_worker("control", [*common, "--calls", str(args.control_calls)], timeout=args.timeout)
        record["warmup"] = warmup
        cycles = max(100, args.control_calls // 4)
        profile = state / "control.pstats"
        run_worker("control", [*common, "--calls", str(cycles), "--profile", str(profile)], timeout=args.timeout)
        return record, summarize_profile(str(profile), cycles)
    except BenchError as exc:
        bench.results.failures.append(Failure("control calls", str(exc)))
        return None, []
    finally:
        shutil.rmtree(state, ignore_errors=True)


def _control_postgres(
    bench: UploadBench, base_url: str, work: Path, args: argparse.Namespace, notes: list[str]
) -> dict[str, object] | None:
    """The control calls again with the shim's state in PostgreSQL (a database made for the run)."""
    state = work / "control-postgres"
    state.mkdir()
    warmup = 50
    try:
        with scratch_database(args.postgres, "control") as database:
            common = ["--url", base_url, "--state-dir", str(state), "--warmup", str(warmup), "--store", database.url]
            record = run_worker("control", [*common, "--calls", str(args.control_calls)], timeout=args.timeout)
            record["warmup"] = warmup
            record["server"] = database.server
            return record
    except NoServer as exc:
        notes.append(f"control calls with the PostgreSQL store: not measured ({exc})")
        return None
    except BenchError as exc:
        bench.results.failures.append(Failure("control calls with the PostgreSQL store", str(exc)))
        return None
    finally:
        shutil.rmtree(state, ignore_errors=True)


def _fleet(bench: UploadBench, size: int, args: argparse.Namespace, notes: list[str]) -> str | None:
    """Issue 13: one gateway replica against two on one PostgreSQL store (a database made for the run)."""
    if not args.postgres:
        notes.append("fleet: not measured (--postgres '')")
        return None
    try:
        with scratch_database(args.postgres, "fleet") as database:
            bench.run_scaling(size, [args.fleet_level], args.fleet_repeat, ["fleet-1", "fleet-2"], store=database.url)
            return database.server
    except NoServer as exc:
        notes.append(f"fleet: not measured ({exc})")
        return None


def _node_peak(pid: int | None) -> str:
    from bench.common import proc_status_kib

    if pid is None:
        return "?"
    try:
        return f"{proc_status_kib('VmHWM', pid) / 1024:.0f} MiB (Node, VmHWM at the end of the run)"
    except (OSError, RuntimeError):
        return "?"


if __name__ == "__main__":
    raise SystemExit(main())
