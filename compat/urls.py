"""The one check of a URL's form, shared by V1 validation and the ``media_source`` fetcher.

``media_source``, every redirect target of its download and ``webhook_url`` all go through
:func:`is_http_url`, so a URL refused in one place is refused in every other. This module imports
nothing from ``compat``; each caller raises its own error.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

__all__ = ["MAX_URL", "is_http_url"]

MAX_URL = 2048
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def is_http_url(value: Any) -> bool:
    """Whether ``value`` is a well-formed http(s) URL with a host (at most :data:`MAX_URL` characters).

    A bad port or an unclosed ``[`` makes it malformed (``False``), never a ``ValueError``.
    """
    if not isinstance(value, str) or len(value) > MAX_URL or _CONTROL.search(value) or " " in value:
        return False
    try:
        parts = urlsplit(value)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(hostname)
