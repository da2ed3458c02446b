"""The legacy-usage report: every call site of a V1 call, counted, written as JSON.

With ``SCRIPTIX_COMPAT_REPORT=path.json`` every legacy call is recorded and the report is written
when the process exits; :func:`report` writes it at any time. The file is ``{"calls": [...]}``,
one entry per operation and site: ``operation``, ``file``, ``line``, ``function``, ``count``,
``first_seen``, ``last_seen`` (ISO 8601, UTC), ``replacement`` (and ``client`` for calls through
the gateway). Many processes may write the same file (a test suite, a fleet of workers): each
merges its counts into what is there under an exclusive lock, so nothing is lost or counted twice.
A report is also a valid strict-mode baseline (``SCRIPTIX_COMPAT_STRICT``).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from compat.config import StagingSettings
from compat.hooks import CallSite, remote_site
from compat.staging.operations import replacement_for

__all__ = ["merge_into", "pending", "record", "record_client", "report"]

log = logging.getLogger("compat.usage")

Key = tuple[str, str, int, str, str]  # operation, file, line, function, client

_lock = threading.Lock()
_pending: dict[Key, dict[str, Any]] = {}
_atexit_paths: set[str] = set()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _add(key: Key) -> None:
    now = _now()
    with _lock:
        entry = _pending.get(key)
        if entry is None:
            operation, file, line, function, client = key
            entry = {
                "operation": operation,
                "file": file,
                "line": line,
                "function": function,
                "count": 0,
                "first_seen": now,
                "last_seen": now,
                "replacement": replacement_for(operation),
            }
            if client:
                entry["client"] = client
            _pending[key] = entry
        entry["count"] += 1
        entry["last_seen"] = now
    path = StagingSettings.resolve().report
    if path and path not in _atexit_paths:
        _atexit_paths.add(path)
        atexit.register(_write_at_exit, path)


def record(operation: str, site: CallSite) -> None:
    """Count one legacy call from ``site`` (only when a report is asked for)."""
    if StagingSettings.resolve().report or _explicit.is_set():
        _add((operation, site.file, site.line, site.function, site.client))


def record_client(operation: str, client: str) -> None:
    """Count one legacy call that came through the gateway from ``client``."""
    record(operation, remote_site(client))


_explicit = threading.Event()


def enable() -> None:
    """Record calls even without ``SCRIPTIX_COMPAT_REPORT`` (for :func:`report` with a path)."""
    _explicit.set()


def pending() -> list[dict[str, Any]]:
    """The calls recorded in this process and not written yet."""
    with _lock:
        return [dict(entry) for entry in _pending.values()]


def report(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Merge this process's calls into the report file now, and return the merged report.

    ``path`` defaults to ``SCRIPTIX_COMPAT_REPORT``. Calls written are not written again.
    """
    target = path or StagingSettings.resolve().report
    if not target:
        raise ValueError("no report path: pass one or set SCRIPTIX_COMPAT_REPORT")
    with _lock:
        entries = list(_pending.values())
        _pending.clear()
    try:
        return merge_into(Path(target), entries)
    except BaseException:
        with _lock:  # not written: keep them for the next attempt
            for entry in entries:
                _restore(entry)
        raise


def _restore(entry: dict[str, Any]) -> None:
    key = (entry["operation"], entry["file"], entry["line"], entry["function"], entry.get("client", ""))
    existing = _pending.get(key)
    if existing is None:
        _pending[key] = entry
    else:
        existing["count"] += entry["count"]
        existing["first_seen"] = min(existing["first_seen"], entry["first_seen"])
        existing["last_seen"] = max(existing["last_seen"], entry["last_seen"])


def _write_at_exit(path: str) -> None:
    try:
        if pending():
            report(path)
    except Exception as exc:  # at exit there is no caller to raise to; say so in the log
        log.warning("could not write the legacy-usage report to %s: %s", path, exc)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_name(path.name + ".lock")
    with open(lock_path, "a+b") as handle:
        try:
            import fcntl
        except ImportError:  # Windows: msvcrt locks a byte range
            import msvcrt

            msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)  # type: ignore[attr-defined]
            try:
                yield
            finally:
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
            return
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def merge_into(path: Path, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Merge ``entries`` into the report at ``path`` under an exclusive lock; the merged report."""
    with _locked(path):
        merged: dict[Key, dict[str, Any]] = {}
        existing = _read(path)
        for entry in [*existing.get("calls", []), *entries]:
            key = (entry["operation"], entry["file"], int(entry["line"]), entry["function"], entry.get("client", ""))
            current = merged.get(key)
            if current is None:
                merged[key] = dict(entry)
                continue
            current["count"] = int(current["count"]) + int(entry["count"])
            current["first_seen"] = min(current["first_seen"], entry["first_seen"])
            current["last_seen"] = max(current["last_seen"], entry["last_seen"])
        calls = sorted(merged.values(), key=lambda e: (e["file"], int(e["line"]), e["operation"]))
        document = {"calls": calls}
        handle, temporary = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(document, out, indent=2)
            out.write("\n")
        os.replace(temporary, path)
        return document


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {"calls": []}
    try:
        document = json.loads(text)
        if not isinstance(document, dict) or not isinstance(document.get("calls", []), list):
            raise ValueError("not a usage report")
        return document
    except ValueError:
        backup = path.with_name(f"{path.name}.unreadable-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}")
        os.replace(path, backup)
        log.warning("%s was not a usage report; kept it as %s and started a new one", path, backup)
        return {"calls": []}
