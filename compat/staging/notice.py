"""The staging toolkit's observer of legacy calls: strict mode, the usage report, the warning.

``import compat`` registers :func:`observe` with :mod:`compat.hooks`; ``LegacyClient``, the
``requests`` interceptor and the gateway report each V1 call they serve through that hook, with the
call site (the first frame outside ``compat``, ``requests`` and ``urllib3``: the line in *your*
code that made the legacy call) or, for the gateway, the client's address.

Environment:

* ``SCRIPTIX_COMPAT_WARN=once|always|off`` — ``once`` (default): one :class:`LegacyV1Warning` per
  call site, Python's usual rule; ``always``: every call; ``off``: none.
* ``SCRIPTIX_COMPAT_REPORT=path.json`` — record every call site; written at exit (see ``compat.usage``).
* ``SCRIPTIX_COMPAT_STRICT=baseline.json`` — a call site not in the baseline raises ``LegacyCallError``.

Calls through the gateway are only recorded (with the client's address): strict mode and warnings
are about the Python code of the process that makes the call.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

from compat.hooks import CallSite
from compat.staging.operations import api_of, replacement_for

__all__ = ["LegacyV1Warning", "observe", "warn_mode"]


class LegacyV1Warning(DeprecationWarning):
    """A legacy call (Batch API V1, or the Zoom Media API v1/v2) was served by the shim; the message
    names the API, the call and its V3 replacement."""


def __getattr__(name: str) -> Any:
    """``LegacyCallError`` was defined here: it is :class:`compat.LegacyCallError` now (compat.errors),
    still found under this name; loaded on use, as ``import compat`` loads no ``requests``."""
    if name == "LegacyCallError":
        from compat.errors import LegacyCallError

        return LegacyCallError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def warn_mode() -> str:
    """``SCRIPTIX_COMPAT_WARN``: ``once``, ``always`` or ``off``."""
    from compat.config import StagingSettings  # pydantic: loaded at the first legacy call, not by import compat

    return StagingSettings.resolve().warn


def observe(operation: str, site: CallSite, via: str) -> None:
    """Serve the staging rules for one legacy call; raises ``LegacyCallError`` in strict mode.

    The :data:`compat.hooks.Observer` the staging toolkit registers.
    """
    # Loaded at the first legacy call rather than with ``import compat``: they need pydantic and
    # requests (compat.config, compat.errors), which ``scriptix-compat --help`` should not pay for.
    from compat.errors import LegacyCallError
    from compat.staging import strict, usage

    if site.client:
        usage.record(operation, site)
        return
    baseline = strict.active_baseline()
    if baseline is not None and not baseline.allows(operation, site):
        raise LegacyCallError(operation, site, baseline.path, replacement=replacement_for(operation))
    usage.record(operation, site)
    _warn(operation, site, via)


def _warn(operation: str, site: CallSite, via: str) -> None:
    mode = warn_mode()
    frame = site.frame
    if mode == "off" or frame is None:
        return
    message = (
        f"{api_of(operation)} call {operation} (via {via}) is served by scriptix-compat on V3; "
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
