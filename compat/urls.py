"""The one check of a URL's form, shared by V1 validation and the ``media_source`` fetcher.

``media_source``, every redirect target of its download and ``webhook_url`` all go through
:func:`is_http_url`, so a URL refused in one place is refused in every other. V1's rule for a
callback's host (:func:`webhook_refusal`) lives here too, so the shim and the emulator's legacy mode
refuse the same webhook URLs in the same words. This module imports nothing from ``compat``; each
caller raises its own error.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import Any
from urllib.parse import urlsplit

__all__ = ["INSECURE_WEBHOOKS_LIFTED", "MAX_URL", "is_http_url", "webhook_refusal"]

MAX_URL = 2048
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Host names V1 refused as callback targets, and their subdomains.
_LOCAL_NAMES = ("localhost", "localdomain")
INSECURE_WEBHOOKS_LIFTED = "(allow_insecure_webhooks=True lifts this for local tests)"


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


def webhook_refusal(url: str, where: str) -> str | None:
    """Why V1 would not call ``url`` (an :func:`is_http_url` URL) as a callback, or ``None`` if it would.

    V1 required HTTPS to a public host name: not ``localhost`` (nor ``.localhost``/``.localdomain``),
    not an IP address in any spelling a resolver accepts. The reason names the field ``where`` and
    says that ``allow_insecure_webhooks=True`` lifts the rule.
    """
    parts = urlsplit(url)
    if parts.scheme != "https":
        return f"'{where}' must be an https URL: callbacks go over HTTPS only {INSECURE_WEBHOOKS_LIFTED}"
    try:  # the name a resolver would look up: IDNA look-alikes and full-width dots included
        host = (parts.hostname or "").encode("idna").decode("ascii").lower().rstrip(".")
    except UnicodeError:
        host = ""
    if not host:
        return f"'{where}' has an invalid host name"
    if host in _LOCAL_NAMES or host.endswith(tuple("." + name for name in _LOCAL_NAMES)) or _is_ip_address(host):
        return f"'{where}' must name a public host, not localhost or an IP address {INSECURE_WEBHOOKS_LIFTED}"
    return None


def _is_ip_address(host: str) -> bool:
    """Whether ``host`` is an IP address in any spelling a resolver accepts (``127.1``, ``0x7f.1``, IPv6)."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    try:
        socket.inet_aton(host)
        return True
    except OSError:
        return False
