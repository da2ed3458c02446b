"""What happens at every legacy call: find the caller's line, check strict mode, record, warn.

``notice(operation)`` is called by ``LegacyClient`` and by the ``requests`` interceptor for each V1
call they serve. The call site is the first frame outside ``compat``, ``requests`` and ``urllib3``:
the line in *your* code that made the legacy call.

Environment:

* ``SCRIPTIX_COMPAT_WARN=once|always|off`` — ``once`` (default): one :class:`LegacyV1Warning` per
  call site, Python's usual rule; ``always``: every call; ``off``: none.
* ``SCRIPTIX_COMPAT_REPORT=path.json`` — record every call site; written at exit (see ``compat.usage``).
* ``SCRIPTIX_COMPAT_STRICT=baseline.json`` — a call site not in the baseline raises :class:`LegacyCallError`.
"""

from __future__ import annotations

import os
import sys
import warnings
from dataclasses import dataclass
from types import FrameType

from compat.config import StagingSettings
from compat.errors import LegacyCallError
from compat.staging.operations import replacement_for

__all__ = ["CallSite", "LegacyCallError", "LegacyV1Warning", "caller_site", "notice"]

_INTERNAL_PREFIXES = ("compat.", "requests.", "urllib3.", "http.client", "tusclient.", "werkzeug.")
_INTERNAL_MODULES = frozenset({"compat", "requests", "urllib3", "threading", "contextlib", "functools"})


class LegacyV1Warning(DeprecationWarning):
    """A Batch API V1 call was served by the shim; the message names its V3 replacement."""


@dataclass(frozen=True)
class CallSite:
    """Where a legacy call came from."""

    file: str
    line: int
    function: str
    module: str


def _is_internal(module: str) -> bool:
    return module in _INTERNAL_MODULES or module.startswith(_INTERNAL_PREFIXES)


def caller_site(start: FrameType | None = None) -> tuple[CallSite, FrameType | None]:
    """The first frame outside the shim and the HTTP libraries, and that frame."""
    frame: FrameType | None = start or sys._getframe(1)
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        if not _is_internal(module):
            site = CallSite(
                file=_display_path(frame.f_code.co_filename),
                line=frame.f_lineno,
                function=frame.f_code.co_name,
                module=module,
            )
            return site, frame
        frame = frame.f_back
    return CallSite("<unknown>", 0, "<unknown>", ""), None


def _display_path(filename: str) -> str:
    """A path relative to the working directory when it lies inside it (so reports travel), else absolute."""
    try:
        relative = os.path.relpath(filename)
    except ValueError:
        return filename
    return filename if relative.startswith("..") else relative


def warn_mode() -> str:
    return StagingSettings.resolve().warn


def notice(operation: str, *, via: str) -> CallSite:
    """Serve the staging rules for one legacy call; raises :class:`LegacyCallError` in strict mode."""
    from compat.staging import strict, usage

    site, frame = caller_site(sys._getframe(1))
    baseline = strict.active_baseline()
    if baseline is not None and not baseline.allows(operation, site):
        raise LegacyCallError(operation, site, baseline.path, replacement=replacement_for(operation))
    usage.record(operation, site)
    mode = warn_mode()
    if mode != "off" and frame is not None:
        message = (
            f"Scriptix Batch API V1 call {operation} (via {via}) is served by scriptix-compat on V3; "
            f"replace with {replacement_for(operation)}"
        )
        # "once": Python's per-site registry of the caller's module; "always": a fresh one each call.
        registry = {} if mode == "always" else frame.f_globals.setdefault("__warningregistry__", {})
        warnings.warn_explicit(
            message,
            LegacyV1Warning,
            frame.f_code.co_filename,
            frame.f_lineno,
            module=site.module,
            registry=registry,
            # No module_globals: with them, linecache asks the module's loader for its source, and a
            # module run with ``python -m`` (``__name__ == "__main__"``) makes that loader raise.
        )
    return site


# The interpreter's own filters that match a DeprecationWarning, in their order (see the warnings docs,
# "Default Warning Filter"): shown in ``__main__``, ignored elsewhere.
_STOCK_FILTERS = [("default", DeprecationWarning, "__main__"), ("ignore", DeprecationWarning, None)]


def _user_configured() -> bool:
    """Whether any filter that can match a :class:`LegacyV1Warning` is not one of the interpreter's own.

    ``-W`` and ``PYTHONWARNINGS`` fill ``sys.warnoptions``; ``simplefilter`` / ``filterwarnings``
    calls (by the user, or a library imported before us) add entries to ``warnings.filters``. A
    user's re-added copy of a stock filter moves to the front, so the order is compared too.
    """
    if sys.warnoptions:
        return True
    matching = []
    for action, message, category, module, _lineno in warnings.filters:
        if issubclass(LegacyV1Warning, category):
            pattern = getattr(module, "pattern", module)
            matching.append((action, category, pattern or None) if message is None else (action, category, "?"))
    return matching != _STOCK_FILTERS


def _show_by_default() -> None:
    """DeprecationWarnings are hidden outside ``__main__`` by default; these should be seen.

    Only when nothing configured warnings before ``import compat``: a filter the user set earlier
    (``-W``, ``PYTHONWARNINGS``, ``warnings.simplefilter("ignore")``, pytest's ``filterwarnings``)
    keeps precedence, and so does any filter set later (it goes in front of ours).
    """
    if not _user_configured():
        warnings.filterwarnings("default", category=LegacyV1Warning)


_show_by_default()
