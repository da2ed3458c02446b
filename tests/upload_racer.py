"""A ``LegacyClient`` in a process of its own that uploads when told to, for races between processes.

    python upload_racer.py '{"base_url", "store", "token", "chunk_size"}'

It builds its client once, prints ``{"ready": true}``, then serves rounds, one JSON line each way:

* in: ``{"session_id": ..., "file": ...}`` -> out: ``{"armed": true}`` (everything is ready);
* in: ``go`` -> it calls ``upload(session_id, file)`` at once -> out: ``{"status": 200, "answer": {...}}``
  or ``{"status": <the error's status_code>, "body": <its V1 body>}``;
* in: ``{"call": "create_session", "language": ..., "fields": {...}}`` -> it calls
  ``create_session(language, **fields)`` at once -> out: the answer or the error, as above.

The parent releases every racer with ``go`` only once all are armed (a barrier), so the uploads
start within a millisecond of each other. End of input ends the process.
"""

from __future__ import annotations

import json
import sys
import warnings
from typing import Any


def main(argv: list[str]) -> int:
    args: dict[str, Any] = json.loads(argv[1])
    warnings.simplefilter("ignore")
    from compat import LegacyClient, ScriptixError

    client = LegacyClient(
        api_key=args["token"],
        base_url=args["base_url"],
        store=args["store"],
        chunk_size=args["chunk_size"],
        backoff_base=0.01,
    )

    def say(message: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    say({"ready": True})

    def answer(call: Any, *positional: Any, **keywords: Any) -> None:
        try:
            say({"status": 200, "answer": call(*positional, **keywords)})
        except ScriptixError as exc:
            say({"status": exc.status_code, "body": exc.body})

    while line := sys.stdin.readline():
        spec = json.loads(line)
        if spec.get("call") == "create_session":
            answer(client.create_session, spec["language"], **spec["fields"])
            continue
        say({"armed": True})
        if sys.stdin.readline().strip() != "go":
            return 1
        answer(client.upload, spec["session_id"], spec["file"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
