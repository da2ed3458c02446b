"""The scan's output: one line per finding with its replacement and a summary (text), or JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TextIO

from compat.staging.scan.model import Finding, ScanReport

__all__ = ["write_json", "write_text"]


def write_json(report: ScanReport, out: TextIO) -> None:
    """``{"findings": [...], "files_scanned": N}``, indented."""
    json.dump(report.to_dict(), out, indent=2, ensure_ascii=False)
    out.write("\n")


def write_text(report: ScanReport, root: str, out: TextIO) -> None:
    """``PATH/file:line: [operation] (confidence) snippet`` and ``-> replacement`` per finding, then a summary."""
    for finding in report.findings:
        where = f"{_display(root, finding)}:{finding.line}"
        out.write(f"{where}: [{finding.operation}] ({finding.confidence}) {finding.snippet}\n")
        out.write(f"    -> {finding.replacement}\n")
    count = len(report.findings)
    files = report.files_scanned
    scanned = f"{files} file{'s' if files != 1 else ''} scanned"
    if not count:
        out.write(f"No legacy calls found ({scanned}).\n")
        return
    by = {c: sum(1 for f in report.findings if f.confidence == c) for c in ("high", "medium", "low")}
    in_files = len({f.file for f in report.findings})
    out.write(
        f"{count} legacy call{'s' if count != 1 else ''} in {in_files} file{'s' if in_files != 1 else ''} "
        f"(high {by['high']}, medium {by['medium']}, low {by['low']}; {scanned}). See MIGRATION.md.\n"
    )


def _display(root: str, finding: Finding) -> str:
    """Where a finding is, as the user named the scanned path: the file itself, or ``root/file``."""
    base = Path(root)
    return root if base.is_file() else (base / finding.file).as_posix()
