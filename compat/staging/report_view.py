"""``scriptix-compat report path.json``: the legacy-usage report as a table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["load_report", "render_table"]


def load_report(path: str | Path) -> list[dict[str, Any]]:
    """The ``calls`` of a usage report; a clear ``ValueError`` when it is not one."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"no report at {path}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("calls"), list):
        raise ValueError(f'{path} is not a usage report (expected {{"calls": [...]}})')
    return [c for c in document["calls"] if isinstance(c, dict)]


def render_table(calls: list[dict[str, Any]]) -> str:
    """Calls grouped per operation, the busiest first, with where to look and what replaces them."""
    if not calls:
        return "No legacy calls recorded.\n"
    headers = ("operation", "count", "site", "function", "last seen")
    rows = [
        (
            str(call.get("operation", "")),
            str(call.get("count", 0)),
            f"{call.get('file', '')}:{call.get('line', '')}" if call.get("line") else str(call.get("file", "")),
            str(call.get("function", "")),
            str(call.get("last_seen", "")),
        )
        for call in sorted(calls, key=lambda c: (-int(c.get("count", 0)), str(c.get("file")), int(c.get("line", 0))))
    ]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    totals: dict[str, int] = {}
    for call in calls:
        totals[str(call.get("operation"))] = totals.get(str(call.get("operation")), 0) + int(call.get("count", 0))
    lines.append("")
    lines.append(
        f"{sum(totals.values())} legacy calls from {len(calls)} sites: "
        + ", ".join(f"{op} {n}" for op, n in sorted(totals.items()))
    )
    replacements = {str(c.get("operation")): str(c.get("replacement", "")) for c in calls}
    lines.append("")
    lines.append("Replace with:")
    lines += [f"  {op}: {text}" for op, text in sorted(replacements.items())]
    return "\n".join(lines) + "\n"
