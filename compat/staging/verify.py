"""Dual-run verification: does the shim's V3 path give what the V1 path gave?

For one media file, run the legacy V1 flow (create → PUT → poll → result) against a live V1
service, the emulator's ``--v1`` mode, or a recorded V1 result, and the shim's flow (the same V1
calls through :class:`~compat.LegacyClient`, V3 underneath); normalise both (session ids, URLs,
timestamps; floats within a tolerance) and diff them field by field.

``shadow`` compares, for a sample of real ``get_result`` calls, the shim's answer with the same
result fetched straight from a V1 service, and reports mismatches without changing what the
caller gets. Only reads are shadowed: shadowing an upload would transcribe (and bill) twice.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

__all__ = ["Difference", "VerifyReport", "diff", "normalise", "run_v1_flow", "shadow_compare", "verify"]

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


@dataclass
class VerifyReport:
    """The verdict of a dual run, with both normalised results."""

    differences: list[Difference]
    v1: dict[str, Any]
    shim: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return "match" if not self.differences else "mismatch"

    def as_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "differences": [{"path": d.path, "v1": d.v1, "shim": d.shim} for d in self.differences],
            "notes": self.notes,
            "v1": self.v1,
            "shim": self.shim,
        }


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


def run_v1_flow(
    base_url: str,
    token: str,
    media: Path,
    *,
    language: str,
    content_type: str,
    timeout: float = 600.0,
    poll_interval: float = 1.0,
) -> dict[str, Any]:
    """The legacy flow, exactly as a V1 integration makes it, with plain ``requests``."""
    with requests.Session() as http:
        http.trust_env = False
        created = http.post(f"{base_url}{SESSION}", json={"language": language}, headers=_headers(token), timeout=60)
        created.raise_for_status()
        session_id = created.json()["result"]["session_id"]
        with open(media, "rb") as body:
            put = http.put(
                f"{base_url}{SESSION}/{session_id}",
                data=body,
                headers={**_headers(token), "x-filename": media.name, "Content-Type": content_type},
                timeout=600,
            )
        put.raise_for_status()
        deadline = time.monotonic() + timeout
        while True:
            answer = http.get(f"{base_url}{SESSION}/{session_id}/result", headers=_headers(token), timeout=60)
            answer.raise_for_status()
            result: dict[str, Any] = answer.json()
            if result.get("result", {}).get("status") in ("done", "failed") or time.monotonic() > deadline:
                return result
            time.sleep(poll_interval)


def run_shim_flow(
    base_url: str,
    token: str,
    media: Path,
    *,
    language: str,
    content_type: str,
    timeout: float = 600.0,
    poll_interval: float = 1.0,
    **options: Any,
) -> dict[str, Any]:
    """The same V1 calls through the shim (V3 underneath)."""
    from compat.legacy import LegacyClient

    with LegacyClient(api_key=token, base_url=base_url, **options) as client:
        session_id = client.create_session(language)["result"]["session_id"]
        client.upload(session_id, media, content_type=content_type)
        return client.wait(session_id, timeout=timeout, poll_interval=poll_interval)


def verify(
    media: Path,
    *,
    language: str,
    token: str,
    shim_base_url: str,
    content_type: str,
    v1_base_url: str | None = None,
    recorded: Path | None = None,
    tolerance: float = 1e-3,
    poll_interval: float = 1.0,
    **options: Any,
) -> VerifyReport:
    """Run (or load) the V1 result and the shim's result for ``media`` and compare them."""
    notes: list[str] = []
    if recorded is not None:
        v1_result = json.loads(recorded.read_text(encoding="utf-8"))
        notes.append(f"V1 result recorded in {recorded}")
    elif v1_base_url is not None:
        v1_result = run_v1_flow(
            v1_base_url, token, media, language=language, content_type=content_type, poll_interval=poll_interval
        )
        notes.append(f"V1 flow run against {v1_base_url}")
    else:
        raise ValueError("give a V1 service (v1_base_url) or a recorded V1 result (recorded)")
    shim_result = run_shim_flow(
        shim_base_url,
        token,
        media,
        language=language,
        content_type=content_type,
        poll_interval=poll_interval,
        **options,
    )
    notes.append(f"shim flow run against {shim_base_url} (V3)")
    v1_clean, shim_clean = normalise(v1_result), normalise(shim_result)
    return VerifyReport(diff(v1_clean, shim_clean, tolerance=tolerance), v1_clean, shim_clean, notes)


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
