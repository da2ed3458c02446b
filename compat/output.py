"""Where the command line writes its answer: stdout, or a file replaced atomically.

:func:`check_output` proves, before any work starts, that the file can be written (its folder
exists, is writable, and the path is not a folder); :func:`write_output` then writes the whole
text to a temporary file beside it and renames it into place, so a reader never sees half a file
and a failure leaves the old file as it was.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path

__all__ = ["OutputError", "check_output", "write_output"]


class OutputError(OSError):
    """The output path cannot be written; the message names it and why."""


def check_output(path: Path | None) -> Path | None:
    """``path`` if a file can be written there (``None``: stdout); else :class:`OutputError`."""
    if path is None:
        return None
    if path.is_dir():
        raise OutputError(f"--output {path}: is a folder; give a file name")
    folder = path.parent
    if not folder.is_dir():
        raise OutputError(f"--output {path}: the folder {str(folder)!r} does not exist")
    try:
        handle, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise OutputError(f"--output {path}: cannot write in {str(folder)!r} ({exc.strerror})") from None
    os.close(handle)
    os.unlink(probe)
    return path


def write_output(path: Path | None, text: str) -> None:
    """Write ``text`` to stdout (``path`` ``None``) or atomically to ``path``."""
    if path is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, _mode_for(path))
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    print(f"written to {path}", file=sys.stderr)


def _mode_for(path: Path) -> int:
    """The mode a plain ``open(path, "w")`` would give: the old file's, or 0666 less the umask."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
