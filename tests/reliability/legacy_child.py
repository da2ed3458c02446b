"""One ``LegacyClient.upload`` in a process of its own, which can SIGKILL itself midway.

    python legacy_child.py '{"base_url", "store", "token", "session_id", "file", "chunk_size",
                             "die_at": 0.4 | null, "report": PATH}'

With ``die_at`` the process kills itself (SIGKILL: no cleanup, no ``finally``) from ``on_progress``
once that fraction of the file has gone out. Otherwise it finishes and writes the V1 answer and the
first progress value (where this process started from) as JSON to ``report``.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import warnings
from pathlib import Path
from typing import Any


def main(argv: list[str]) -> int:
    args: dict[str, Any] = json.loads(argv[1])
    warnings.simplefilter("ignore")
    from compat import LegacyClient

    started_at: list[int] = []

    def on_progress(done: int, total: int) -> None:
        if not started_at:
            started_at.append(done)
        if args["die_at"] is not None and done >= args["die_at"] * total:
            os.kill(os.getpid(), signal.SIGKILL)

    client = LegacyClient(
        api_key=args["token"],
        base_url=args["base_url"],
        store=args["store"],
        chunk_size=args["chunk_size"],
        backoff_base=0.01,
    )
    answer = client.upload(args["session_id"], args["file"], on_progress=on_progress)
    Path(args["report"]).write_text(json.dumps({"answer": answer, "started_at": started_at[0]}), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
