"""Shadow comparisons: the shim's V1 answer beside the same answer from a V1 service, field by field.

``LegacyClient(shadow_rate=…, shadow_base_url=…)`` calls :func:`shadow_compare` for a share of its
``get_result`` calls; the staging toolkit's ``verify`` uses :func:`normalise` and :func:`diff` for
whole dual runs. Answers are normalised first (session ids, URLs, timestamps), and numbers are
equal within a tolerance. Nothing here changes what a caller gets.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from typing import Any

import requests

__all__ = ["SESSION", "VOLATILE", "Difference", "diff", "normalise", "shadow_compare"]

log = logging.getLogger("compat.verify")

# Fields that differ between two runs of the same media by nature, not by translation.
VOLATILE = frozenset({"session_id", "media_url", "created_at", "started_at", "finished_at", "id"})
SESSION = "/api/v3/speech-to-text/session"


@dataclass(frozen=True)
class Difference:
    """One field that differs: its JSON path, the V1 value and the shim's value."""

    path: str
    v1: Any
    shim: Any

    def __str__(self) -> str:
        return f"{self.path}: V1 {json.dumps(self.v1)} != shim {json.dumps(self.shim)}"


def normalise(result: dict[str, Any]) -> dict[str, Any]:
    """A V1 result without what legitimately differs between runs (ids, URLs, timestamps)."""

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if k not in VOLATILE}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    cleaned = clean(result)
    return cleaned if isinstance(cleaned, dict) else {}


def diff(v1: Any, shim: Any, *, tolerance: float = 1e-3, path: str = "$") -> list[Difference]:
    """Field-by-field differences; numbers equal within ``tolerance`` (absolute) count as equal."""
    if isinstance(v1, bool) or isinstance(shim, bool):
        return [] if v1 is shim else [Difference(path, v1, shim)]
    if isinstance(v1, int | float) and isinstance(shim, int | float):
        return [] if math.isclose(v1, shim, abs_tol=tolerance, rel_tol=0) else [Difference(path, v1, shim)]
    if isinstance(v1, dict) and isinstance(shim, dict):
        found: list[Difference] = []
        for key in sorted(set(v1) | set(shim)):
            if key not in v1:
                found.append(Difference(f"{path}.{key}", None, shim[key]))
            elif key not in shim:
                found.append(Difference(f"{path}.{key}", v1[key], None))
            else:
                found += diff(v1[key], shim[key], tolerance=tolerance, path=f"{path}.{key}")
        return found
    if isinstance(v1, list) and isinstance(shim, list):
        if len(v1) != len(shim):
            return [Difference(f"{path}.length", len(v1), len(shim))]
        found = []
        for index, (a, b) in enumerate(zip(v1, shim, strict=True)):
            found += diff(a, b, tolerance=tolerance, path=f"{path}[{index}]")
        return found
    return [] if v1 == shim else [Difference(path, v1, shim)]


def _headers(token: str) -> dict[str, str]:
    return {"x-zoom-s2t-key": token}


def shadow_compare(
    shim_answer: dict[str, Any], session_id: str, token: str, v1_base_url: str, *, tolerance: float = 1e-3
) -> list[Difference]:
    """Fetch the same result from a V1 service and diff it with the shim's answer (logged, never raised)."""
    try:
        answer = requests.get(f"{v1_base_url}{SESSION}/{session_id}/result", headers=_headers(token), timeout=(5, 30))
        v1_result = answer.json()
    except (requests.RequestException, ValueError) as exc:
        log.warning("shadow call for %s failed: %s", session_id, type(exc).__name__)
        return []
    differences = diff(normalise(v1_result), normalise(shim_answer), tolerance=tolerance)
    for difference in differences:
        log.warning("shadow mismatch for session %s: %s", session_id, difference)
    return differences
