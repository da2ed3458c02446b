"""Control-call overhead, in a fresh process: ``python -m bench.worker control --url BASE --state-dir DIR``.

Each call of ``LegacyClient`` (the shim: V1 validation, translation to V3, the session book in the
store) is paired with the same V3 call made directly with a plain ``requests.Session`` on the same
server, the two interleaved (and their order alternated) so that both see the same server and the
same machine load:

* ``create_session``: ``LegacyClient.create_session("en")`` vs ``POST …/session`` ``{"language": "en"}``;
* ``get_result``: ``LegacyClient.get_result(id)`` vs ``GET …/session/<id>/result``;
* ``delete``: ``LegacyClient.delete(id)`` vs ``DELETE …/session/<id>``.

Every direct call checks its status and parses its JSON, as a caller would. The direct session
has ``trust_env = False`` as the shim's own session does, so the difference is the shim's work
alone (a default ``requests.Session`` also looks up proxy settings and ``~/.netrc`` per call).

``--profile FILE`` runs the shim's calls again (no direct calls) under cProfile and saves the stats.
``--store VALUE`` puts the shim's state in another store (default: a SQLite file in ``--state-dir``),
e.g. a ``postgresql://`` URL for the PostgreSQL store a fleet shares.

Prints one JSON line: per operation, the microseconds of every timed call of each side.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import SESSIONS_PATH, TOKEN, emit, proc_status_kib

OPERATIONS = ("create_session", "get_result", "delete")


def main(argv: list[str]) -> int:
    """Measure (or profile) the control calls and print one JSON line."""
    parser = argparse.ArgumentParser(description="control-call overhead (run by bench/run.py)")
    parser.add_argument("--url", required=True, help="the server's base URL")
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--calls", type=int, default=500, help="timed calls per operation and side")
    parser.add_argument("--warmup", type=int, default=50, help="untimed calls per operation and side first")
    parser.add_argument("--profile", default=None, help="cProfile the shim's calls into this file instead")
    parser.add_argument("--store", default=None, help="the shim's store (default: a SQLite file in --state-dir)")
    args = parser.parse_args(argv)

    import requests

    from compat import LegacyClient

    store = args.store or str(Path(args.state_dir) / "state.sqlite3")
    legacy = LegacyClient(api_key=TOKEN, base_url=args.url, store=store)
    http = requests.Session()
    http.trust_env = False
    headers = {"x-zoom-s2t-key": TOKEN}
    sessions = f"{args.url}{SESSIONS_PATH}"

    def direct(method: str, url: str, **kwargs: Any) -> Any:
        response = http.request(method, url, headers=headers, timeout=(10, 60), **kwargs)
        response.raise_for_status()
        return response.json()

    shim: dict[str, Callable[[str], Any]] = {
        "create_session": lambda _: legacy.create_session("en")["result"]["session_id"],
        "get_result": legacy.get_result,
        "delete": legacy.delete,
    }
    plain: dict[str, Callable[[str], Any]] = {
        "create_session": lambda _: direct("POST", sessions, json={"language": "en"})["result"]["session_id"],
        "get_result": lambda sid: direct("GET", f"{sessions}/{sid}/result"),
        "delete": lambda sid: direct("DELETE", f"{sessions}/{sid}"),
    }

    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        for _ in range(args.warmup):
            _cycle(shim, None)
        profiler.enable()
        for _ in range(args.calls):
            _cycle(shim, None)
        profiler.disable()
        profiler.dump_stats(args.profile)
        emit({"profiled_calls": args.calls})
        return 0

    timings: dict[str, dict[str, list[float]]] = {op: {"shim": [], "direct": []} for op in OPERATIONS}
    for index in range(args.warmup + args.calls):
        first, second = ("shim", "direct") if index % 2 == 0 else ("direct", "shim")
        sides = {"shim": shim, "direct": plain}
        ids: dict[str, str] = {}
        for operation in OPERATIONS:
            for side in (first, second):
                started = time.perf_counter_ns()
                value = sides[side][operation](ids.get(side, ""))
                elapsed = (time.perf_counter_ns() - started) / 1000
                if operation == "create_session":
                    ids[side] = value
                if index >= args.warmup:
                    timings[operation][side].append(elapsed)
    legacy.close()
    legacy.v3.store.close()
    http.close()
    emit({"timings_us": timings, "vmhwm_kib": proc_status_kib("VmHWM")})
    return 0


def _cycle(calls: dict[str, Callable[[str], Any]], _: None) -> None:
    session_id = calls["create_session"]("")
    calls["get_result"](session_id)
    calls["delete"](session_id)


# What a control call does besides its HTTP request, by (module path part, function name).
_PROFILED = (
    ("/compat/hooks.py", "caller_site"),
    ("/compat/staging/notice.py", "observe"),
    ("/compat/v1/validation.py", "validate_create"),
    ("/compat/sessions.py", "remember"),
    ("/compat/sessions.py", "open"),
    ("/compat/sessions.py", "update"),
    ("/compat/sessions.py", "forget"),
    ("/compat/sessions.py", "_cipher"),
    ("/cryptography/fernet.py", "encrypt"),
    ("/cryptography/fernet.py", "decrypt"),
    ("/compat/store.py", "execute"),
    ("/compat/store.py", "token_digest"),
    ("/compat/v3/client.py", "with_token"),
    ("/compat/v3/transport.py", "auth_headers"),
    ("/pydantic/main.py", "model_validate"),
    ("/compat/translate.py", "v1_result"),
    ("/requests/sessions.py", "request"),
)


def summarize_profile(path: str, cycles: int) -> list[tuple[str, float, int]]:
    """Cumulative µs per create+get_result+delete cycle of a ``--profile`` run: (name, µs, calls per cycle).

    The first row is the whole cycle (the three ``LegacyClient`` methods), then what the shim does
    around the HTTP request (``requests.Session.request``, the last row, is the request itself).
    """
    import pstats

    stats: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = pstats.Stats(path).stats  # type: ignore[attr-defined]
    cycle = 0.0
    found: dict[tuple[str, str], tuple[float, int]] = {}
    for (filename, _, function), (_, calls, _, cumulative, _) in stats.items():
        if "/compat/legacy.py" in filename and function in OPERATIONS:
            cycle += cumulative
        for part, name in _PROFILED:
            if part in filename and function == name:
                seconds, count = found.get((part, name), (0.0, 0))
                found[(part, name)] = (seconds + cumulative, count + calls)
    rows = [("LegacyClient: create_session + get_result + delete", cycle / cycles * 1e6, 3)]
    for part, name in _PROFILED:
        if (part, name) in found:
            seconds, count = found[(part, name)]
            module = part.strip("/").removesuffix(".py").replace("/", ".")
            rows.append((f"{module}.{name}", seconds / cycles * 1e6, round(count / cycles)))
    return rows
