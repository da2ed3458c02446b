"""Run one ``V3Client.upload`` in a process of its own (used by the integration tests).

    python upload_child.py '{"base_url": ..., "store": ..., "file": ..., "metadata": {...},
                             "chunk_size": N, "die_at_fraction": 0.4 | null, "report": PATH}'

With ``die_at_fraction`` the process SIGKILLs itself from ``on_progress`` as soon
as that fraction of the file has gone out: no cleanup, no ``finally``, exactly
like a crashed or killed uploader. Otherwise it finishes the upload and writes a
JSON report to ``report``: every ``on_progress`` value and the result's fields.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any


def main(argv: list[str]) -> int:
    args: dict[str, Any] = json.loads(argv[1])
    from compat import V3Client

    die_at = args.get("die_at_fraction")
    progress: list[list[int]] = []

    def on_progress(done: int, total: int) -> None:
        progress.append([done, total])
        if die_at is not None and total and done >= die_at * total:
            os.kill(os.getpid(), signal.SIGKILL)

    client = V3Client(
        api_key="test-token",
        base_url=args["base_url"],
        store=args["store"],
        chunk_size=args["chunk_size"],
        max_retries=8,
        backoff_base=0.05,
        timeout=5,
    )
    try:
        result = client.upload(args["file"], metadata=args["metadata"], on_progress=on_progress)
    finally:
        client.close()
    report = {
        "progress": progress,
        "upload_url": result.upload_url,
        "session_id": result.session_id,
        "size": result.size,
        "resumed_from": result.resumed_from,
    }
    Path(args["report"]).write_text(json.dumps(report), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
