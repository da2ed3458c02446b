"""The gateway under a profiler: ``python -m bench.gwserve OUT.json gateway ARGS...`` (run by bench/gwprofile.py).

Runs ``compat.cli`` in this process with yappi (CPU clock, every thread: the event loop and the
request threads) and, when the gateway has stopped (SIGTERM: it drains and returns), writes the
functions' self and total CPU seconds to ``OUT.json``. Use with ``--workers 1`` (the gateway then
serves in this process). Without yappi (``pip install 'scriptix-compat[bench]'``) it falls back to
cProfile, which sees the main thread (the event loop) only.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any


def main() -> int:
    """Serve under the profiler; write the profile when the gateway returns."""
    out, argv = sys.argv[1], sys.argv[2:]
    from compat.cli import main as cli

    try:
        import yappi
    except ImportError:
        yappi = None
    if yappi is not None:
        yappi.set_clock_type(os.environ.get("BENCH_PROFILE_CLOCK", "cpu"))
        yappi.start(builtins=True, profile_threads=True)
        try:
            code = cli(argv)
        finally:
            yappi.stop()
            clock = "wall clock" if os.environ.get("BENCH_PROFILE_CLOCK") == "wall" else "CPU clock"
            _write(out, f"yappi ({clock}, all threads)", _yappi_rows(yappi))
        return int(code or 0)
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    try:
        code = profiler.runcall(cli, argv)
    finally:
        stats = pstats.Stats(profiler)
        rows = [
            {"name": _name(func), "calls": nc, "self_s": tt, "total_s": ct}
            for func, (_, nc, tt, ct, _) in stats.stats.items()  # type: ignore[attr-defined]
        ]
        _write(out, "cProfile (wall clock, main thread only)", rows)
    return int(code or 0)


def _yappi_rows(yappi: Any) -> list[dict[str, Any]]:
    rows = []
    for stat in yappi.get_func_stats():
        module = stat.module.split("site-packages/")[-1].split("compat-src/")[-1]
        rows.append({"name": f"{stat.name} ({module})", "calls": stat.ncall, "self_s": stat.tsub, "total_s": stat.ttot})
    return rows


def _name(func: tuple[str, int, str]) -> str:
    path, _, name = func
    return f"{name} ({path.split('site-packages/')[-1].split('compat-src/')[-1]})"


def _write(out: str, profiler: str, rows: list[dict[str, Any]]) -> None:
    with open(out, "w", encoding="utf-8") as stream:
        json.dump({"profiler": profiler, "rows": rows}, stream)


if __name__ == "__main__":
    raise SystemExit(main())
