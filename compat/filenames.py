"""The one rule for a file name a caller gives: ``x-filename``, or a multipart part's file name.

The shim's V1 checks, its multipart reader and the emulator's legacy mode all ask
:func:`is_plain_filename`, so a name refused in one place is refused in every other. This module
imports nothing from ``compat``; each caller raises its own error.
"""

from __future__ import annotations

import re

__all__ = ["MAX_FILENAME", "is_plain_filename"]

MAX_FILENAME = 255
# C0 controls, DEL and the C1 controls (U+0080-U+009F): bytes 0x80-0x9F that are not UTF-8 arrive
# as C1 characters (a header read as ISO-8859-1), and UTF-8 can spell them too.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def is_plain_filename(name: str) -> bool:
    """Whether ``name`` is a plain file name: not empty, at most :data:`MAX_FILENAME` characters, no
    control character (C0, DEL or C1), no ``/`` or ``\\``, not ``.`` or ``..``."""
    return (
        bool(name)
        and len(name) <= MAX_FILENAME
        and not _CONTROL.search(name)
        and "/" not in name
        and "\\" not in name
        and name not in (".", "..")
    )
