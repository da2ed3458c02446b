"""Strict mode: freeze today's legacy calls, fail on any new one.

``SCRIPTIX_COMPAT_STRICT=baseline.json`` names a baseline — any usage report (``{"calls": [...]}``)
will do, so copying today's report freezes today's debt. A legacy call is allowed when the baseline
has the same operation in the same file, at the same line or in the same function (so editing
code above a known call does not break the build); anything else raises :class:`compat.LegacyCallError`.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from compat.config import StagingSettings
from compat.errors import ConfigurationError
from compat.hooks import CallSite

__all__ = ["Baseline", "active_baseline", "load_baseline"]


@dataclass(frozen=True)
class Baseline:
    """The legacy calls a project has agreed to keep for now."""

    path: str
    sites: frozenset[tuple[str, str, int]]
    functions: frozenset[tuple[str, str, str]]

    def allows(self, operation: str, site: CallSite) -> bool:
        file = _normal(site.file)
        return (operation, file, site.line) in self.sites or (operation, file, site.function) in self.functions


def _normal(file: str) -> str:
    return Path(file).as_posix()


def load_baseline(path: str) -> Baseline:
    """Read a baseline (a usage report); a missing or unreadable one is a clear error."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        calls = document["calls"]
        sites = frozenset((c["operation"], _normal(c["file"]), int(c["line"])) for c in calls)
        functions = frozenset((c["operation"], _normal(c["file"]), str(c["function"])) for c in calls)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(
            f"SCRIPTIX_COMPAT_STRICT={path!r} is not a readable baseline (a usage report): {exc}",
            option="SCRIPTIX_COMPAT_STRICT",
        ) from exc
    return Baseline(path, sites, functions)


_cache: dict[tuple[str, float], Baseline] = {}
_cache_lock = threading.Lock()


def active_baseline() -> Baseline | None:
    """The baseline named by ``SCRIPTIX_COMPAT_STRICT``, or ``None`` when strict mode is off."""
    path = StagingSettings.resolve().strict
    if not path:
        return None
    try:
        stamp = os.stat(path).st_mtime
    except OSError:
        stamp = -1.0
    with _cache_lock:
        cached = _cache.get((path, stamp))
    if cached is not None:
        return cached
    baseline = load_baseline(path)
    with _cache_lock:
        _cache[(path, stamp)] = baseline
    return baseline
