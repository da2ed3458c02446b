"""Which front door serves a legacy request: the path decides (Batch V1 or the Zoom Media API v1/v2).

The surfaces (``compat.install()``/``mount()``, the gateway) hand every request to :func:`match`;
a legacy call is read once by :func:`prepare` (its staging name is then known, for the hook) and
served by :func:`dispatch` on the one translator. Batch V1 lives under ``/api/v3/…/session``, the
Zoom Media API under ``/api/v1|v2/…/session``: no path is both.
"""

from __future__ import annotations

from typing import Any, Literal

from compat import wire
from compat.frontdoor import batch_v1, zoommedia
from compat.frontdoor.http import V1Answer, V1Request
from compat.translate import Translator

__all__ = ["Generation", "LegacyCall", "dispatch", "error_body", "match", "prepare"]

Generation = Literal["batch_v1", "zoommedia"]
LegacyCall = batch_v1.V1Call | zoommedia.ZoomCall


def match(method: str, path: str) -> Generation | None:
    """The generation whose call ``method`` ``path`` is, or ``None`` when it is no legacy call."""
    if batch_v1.match(method, path) is not None:
        return "batch_v1"
    if zoommedia.match(method, path) is not None:
        return "zoommedia"
    return None


def prepare(request: V1Request) -> LegacyCall:
    """Read a legacy request once with its generation's front door; :class:`ValueError` when it is none."""
    generation = match(request.method, request.path)
    if generation == "batch_v1":
        return batch_v1.prepare(request)
    if generation == "zoommedia":
        return zoommedia.prepare(request)
    raise ValueError(f"not a legacy call: {request.method} {request.path}")


def dispatch(translator: Translator, call: LegacyCall) -> V1Answer:
    """Serve a prepared call with its front door (see each front door's ``dispatch``)."""
    if isinstance(call, zoommedia.ZoomCall):
        return zoommedia.dispatch(translator, call)
    return batch_v1.dispatch(translator, call)


def error_body(call: LegacyCall, status: int, message: str) -> dict[str, Any]:
    """An error of the surface's own (no upstream answer: 502, 504) in the shape of the call's generation."""
    if isinstance(call, zoommedia.ZoomCall):
        return wire.zoom_error_body(status, message)
    return {"error": message}
