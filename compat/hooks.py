"""The one hook between the shim and its observers: every legacy call served is reported here.

The surfaces (``LegacyClient``, ``compat.install()``, the gateway) call
:func:`on_legacy_call` with the operation, where the call came from and the surface's name, for
each V1 call they serve and before anything is sent. Observers added with :func:`add_observer` see
each report in turn; one may refuse the call by raising (strict mode's ``LegacyCallError``), and
the call then fails before it goes upstream.

The staging toolkit (warnings, the usage report, strict mode) is the observer ``import compat``
registers; the shim's own code never imports it. This module imports only :mod:`compat.listeners`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType

from compat.listeners import Listeners

__all__ = [
    "CallSite",
    "Observer",
    "add_observer",
    "caller_site",
    "observers",
    "on_legacy_call",
    "remote_site",
    "remove_observer",
]

_INTERNAL_PREFIXES = ("compat.", "requests.", "urllib3.", "http.client", "tusclient.", "werkzeug.")
_INTERNAL_MODULES = frozenset({"compat", "requests", "urllib3", "threading", "contextlib", "functools"})


@dataclass(frozen=True)
class CallSite:
    """Where a legacy call came from: a line of the caller's code, or a client of the gateway.

    ``file`` is relative to the working directory when it lies inside it (so reports travel);
    ``client`` is the network address of a call that came through the gateway (``file`` is then
    ``gateway:<client>``, ``line`` 0). ``frame`` is the caller's frame, for observers that warn at
    its line; it takes no part in comparisons.
    """

    file: str
    line: int
    function: str
    module: str
    client: str = ""
    frame: FrameType | None = field(default=None, compare=False, repr=False)


Observer = Callable[[str, CallSite, str], None]
"""``observer(operation, site, via)``: called for each legacy call; raise to refuse it."""

_observers: Listeners[Observer] = Listeners()

add_observer = _observers.add
"""Call an observer for every legacy call from now on (once, however often it is added)."""
remove_observer = _observers.remove
"""Stop calling an observer (nothing happens when it was not added)."""
observers = _observers.snapshot
"""The observers called for each legacy call, in order."""


def on_legacy_call(operation: str, site: CallSite, via: str) -> None:
    """Report one legacy call to every observer, in the order they were added.

    ``operation`` is the staging name of the call (Batch V1: ``create_session``, ``media_source``,
    ``upload``, ``align``, ``get_result``, ``delete``; the Zoom Media API v1/v2: ``zm_create_session``,
    ``zm_upload``, ``zm_video_url``, ``zm_get_result``, ``zm_captions``); ``via`` names the surface
    that serves it.
    An observer's exception propagates: the surface then sends nothing.
    """
    for observer in _observers:
        observer(operation, site, via)


def caller_site(start: FrameType | None = None) -> CallSite:
    """The first frame outside the shim and the HTTP libraries (the line in *your* code), as a site.

    The search starts at ``start`` (default: the frame that calls this function).
    """
    frame: FrameType | None = start or sys._getframe(1)
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        if not _is_internal(module):
            return CallSite(
                file=_display_path(frame.f_code.co_filename),
                line=frame.f_lineno,
                function=frame.f_code.co_name,
                module=module,
                frame=frame,
            )
        frame = frame.f_back
    return CallSite("<unknown>", 0, "<unknown>", "")


def remote_site(client: str) -> CallSite:
    """The site of a call that came over the network from ``client`` (the gateway's callers)."""
    return CallSite(file=f"gateway:{client}", line=0, function="", module="", client=client)


def _is_internal(module: str) -> bool:
    return module in _INTERNAL_MODULES or module.startswith(_INTERNAL_PREFIXES)


def _display_path(filename: str) -> str:
    """A path relative to the working directory when it lies inside it (so reports travel), else absolute."""
    try:
        relative = os.path.relpath(filename)
    except ValueError:
        return filename
    return filename if relative.startswith("..") else relative
