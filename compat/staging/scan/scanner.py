"""Scanning a file's text, a file or a directory tree: hits from the analyses, made into findings."""

from __future__ import annotations

import os
import re
from pathlib import Path

from compat.staging.scan.call_rules import FILE_SIGNALS, RELEVANT
from compat.staging.scan.endpoints import SESSION
from compat.staging.scan.files import file_language, language_of, read_text, walk
from compat.staging.scan.json_requests import scan_json
from compat.staging.scan.language_rules import MARKER_BYTES
from compat.staging.scan.languages import BY_NAME
from compat.staging.scan.model import RANK, REPLACEMENTS, Finding, Hit, ScanReport
from compat.staging.scan.patterns import scan_patterns
from compat.staging.scan.python_ast import scan_python

__all__ = ["scan", "scan_report", "scan_source"]

_RELEVANT = re.compile("|".join(re.escape(term) for term in RELEVANT), re.I)
_V3_EVIDENCE = re.compile(
    r"/api/v3/files|tusclient|tuspy|tus-js-client|\btus\.Upload\b|@uppy/tus|upload-offset|tus-resumable|"
    r"upload-metadata|\bV3Client\b|tus-java-client|go-tus|TusClient",
    re.I,
)
_SNIPPET_MAX = 200


def scan_source(source: str, filename: str = "<source>", language: str | None = None) -> list[Finding]:
    """Scan one file's text. ``language`` defaults to what ``filename`` says (``None``: no findings)."""
    language = language or language_of(filename, source[:MARKER_BYTES])
    if language is None or not _RELEVANT.search(source):
        return []
    mentions = bool(SESSION.search(source))
    file_signals = frozenset(signal.name for signal in FILE_SIGNALS if signal.found_in(source))
    rules = BY_NAME.get(language)
    if language == "python":
        hits = scan_python(source, mentions, file_signals)
    elif rules is not None and rules.structured:
        hits = scan_json(source, rules, file_signals)
    else:
        hits = scan_patterns(source.splitlines(), BY_NAME[language], mentions, file_signals)
    v3_code = bool(_V3_EVIDENCE.search(source))
    return _findings(hits, source.splitlines(), filename, language, v3_code)


def _findings(hits: list[Hit], lines: list[str], rel: str, language: str, v3_code: bool) -> list[Finding]:
    """One finding per line and operation (the most confident hit), none for only Batch V1 create calls in V3
    code (the call is still valid there)."""
    best: dict[tuple[int, str], Hit] = {}
    for hit in hits:
        key = (hit.line, hit.operation)
        if key not in best or RANK[hit.confidence] > RANK[best[key].confidence]:
            best[key] = hit
    chosen = list(best.values())
    if v3_code and not any(h.operation != "create_session" for h in chosen):
        chosen = []
    return [
        Finding(
            file=rel,
            line=hit.line,
            operation=hit.operation,
            replacement=REPLACEMENTS[hit.operation],
            confidence=hit.confidence,
            language=language,
            snippet=_snippet(lines, hit.line),
        )
        for hit in sorted(chosen, key=lambda h: (h.line, h.operation))
    ]


def _snippet(lines: list[str], line: int) -> str:
    snippet = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    return snippet if len(snippet) <= _SNIPPET_MAX else snippet[: _SNIPPET_MAX - 1] + "…"


def scan_report(path: str | os.PathLike[str]) -> ScanReport:
    """Scan a file or a directory tree. Raises ``FileNotFoundError`` when ``path`` does not exist."""
    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(f"no such file or directory: {os.fspath(path)}")
    findings: list[Finding] = []
    scanned = skipped = 0
    for file in walk(root):
        if not file.is_file():
            continue
        language = file_language(file)
        if language is None:
            continue
        text = read_text(file)
        if text is None:
            skipped += 1
            continue
        scanned += 1
        rel = file.name if root.is_file() else file.relative_to(root).as_posix()
        findings.extend(scan_source(text, rel, language))
    findings.sort(key=lambda f: (f.file, f.line, f.operation))
    return ScanReport(findings=findings, files_scanned=scanned, files_skipped=skipped)


def scan(path: str | os.PathLike[str]) -> list[Finding]:
    """The legacy calls under ``path`` (a file or a directory), sorted by file and line."""
    return scan_report(path).findings
