"""The former upload benchmark, folded into ``bench/run.py``: this runs its upload part only.

    .venv/bin/python bench/upload_bench.py --size 1GiB --repeat 3 [--output bench/data/upload.md]
    [--contenders plain-put,tuspy-50MiB,compat-v3]

is the same as ``bench/run.py --parts uploads --sizes 1GiB --repeat 3 ...`` (the old contender name
``tuspy`` means ``tuspy-50MiB``). The report goes to ``--output`` (default ``bench/data/upload.md``,
so that ``bench/RESULTS.md`` is written only by the full run).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import run
from bench.common import DATA_DIR


def main(argv: list[str] | None = None) -> int:
    """Translate the old options and run the upload part of ``bench/run.py``."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--size", default="1GiB", help="file size (default 1GiB)")
    parser.add_argument("--repeat", type=int, default=3, help="uploads per contender (default 3)")
    parser.add_argument("--output", type=Path, default=DATA_DIR / "upload.md", help="the report file")
    parser.add_argument("--contenders", default=None, help="comma-separated subset (default: all)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds allowed per upload (default 900)")
    args = parser.parse_args(argv)
    forwarded = ["--parts", "uploads", "--sizes", args.size, "--repeat", str(args.repeat)]
    forwarded += ["--output", str(args.output), "--timeout", str(args.timeout)]
    if args.contenders:
        names = ["tuspy-50MiB" if name.strip() == "tuspy" else name.strip() for name in args.contenders.split(",")]
        forwarded += ["--contenders", ",".join(names)]
    return run.main(forwarded)


if __name__ == "__main__":
    raise SystemExit(main())
