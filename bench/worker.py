"""Entry point of every worker process: ``python -m bench.worker {upload,control,scaling} ARGS...``.

The measuring code lives in ordinary modules (``bench.contenders``, ``bench.control``,
``bench.scaling``) that this entry point imports, so that no legacy call is made from ``__main__``:
``compat``'s staging notice passes the caller's module globals to ``warnings.warn_explicit``, and
for a module run with ``python -m`` that raises ``ImportError`` (see RESULTS.md, "Findings").
"""

from __future__ import annotations

import sys


def main() -> int:
    """Run the worker named by the first argument with the rest of the arguments."""
    name, argv = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("", [])
    if name == "upload":
        from bench.contenders import main as run
    elif name == "control":
        from bench.control import main as run
    elif name == "scaling":
        from bench.scaling import main as run
    else:
        print("usage: python -m bench.worker {upload,control,scaling} ARGS...", file=sys.stderr)
        return 2
    return run(argv)


if __name__ == "__main__":
    raise SystemExit(main())
