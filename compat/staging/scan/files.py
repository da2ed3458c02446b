"""Which files the scan reads: walking a tree, skipping what cannot hold a call, the language of a file."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

from compat.staging.scan.language_rules import MARKER_BYTES
from compat.staging.scan.languages import LANGUAGES

__all__ = ["MAX_FILE_BYTES", "SKIP_DIRS", "file_language", "language_of", "read_text", "walk"]

MAX_FILE_BYTES = 2 * 1024 * 1024
SKIP_DIRS = frozenset(
    {
        ".git",
        "node_modules",
        ".venv",
        "venv",
        "__pycache__",
        "dist",
        "build",
        ".hg",
        ".svn",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
    }
)

_EXTENSIONS = {ext: rules for rules in LANGUAGES for ext in rules.extensions}
_SHEBANG_LANGS: dict[str, str] = {prog: rules.name for rules in LANGUAGES for prog in rules.interpreters}
_HEAD_BYTES = 256


def language_of(path: str | os.PathLike[str], head: str = "") -> str | None:
    """The language the scan reads ``path`` as (by extension, else by ``#!`` line in ``head``), or ``None``.

    An extension whose row has a ``marker`` (``.json``) names its language only when ``head`` (the
    file's start) holds the marker.
    """
    name = os.fspath(path)
    lower = name.lower()
    if lower.endswith(".min.js"):
        return None
    rules = _EXTENSIONS.get(os.path.splitext(lower)[1])
    if rules is not None:
        return rules.name if rules.marks(head) else None
    if os.path.splitext(lower)[1] == "" and head.startswith("#!"):
        words = head.splitlines()[0][2:].split()
        if words and os.path.basename(words[0]) == "env":
            words = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
        if words:
            interpreter = os.path.basename(words[0])
            return _SHEBANG_LANGS.get(interpreter) or _SHEBANG_LANGS.get(re.sub(r"[\d.]+$", "", interpreter))
    return None


def file_language(path: Path) -> str | None:
    """``language_of`` a file on disk: a file without an extension is read for its ``#!`` line, one whose
    extension needs a marker (``.json``) for that."""
    language = language_of(path.name)
    rules = _EXTENSIONS.get(path.suffix.lower())
    needs_marker = rules is not None and bool(rules.marker)
    if language is None and (not path.suffix or needs_marker):
        try:
            with path.open("rb") as handle:
                head = handle.read(MARKER_BYTES if needs_marker else _HEAD_BYTES).decode("utf-8", errors="replace")
        except OSError:
            head = ""
        language = language_of(path.name, head)
    return language


def walk(root: Path) -> Iterator[Path]:
    """``root`` itself when it is a file, else the files below it (sorted, ``SKIP_DIRS`` left out)."""
    if root.is_file():
        yield root
        return
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            yield Path(directory) / name


def read_text(path: Path) -> str | None:
    """The file's text, or ``None`` when it is too large, binary or unreadable."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if b"\x00" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace")
