"""``install()``: the ``HTTPAdapter.send`` wrapper, put in place and taken out, reference counted."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from typing_extensions import Unpack

from compat.config import Settings
from compat.errors import ConfigurationError
from compat.intercept.handle import InstallHandle
from compat.intercept.installation import Installation
from compat.intercept.options import InterceptOptions
from compat.options import InterceptOverrides
from compat.v3.transport import is_internal_adapter

__all__ = ["Installed", "current", "install", "release_install"]

log = logging.getLogger("compat.intercept")

_PATCHED = "send"  # the one attribute install() replaces, on requests.adapters.HTTPAdapter


class _Slot:
    """What a patched ``send`` serves; emptied on uninstall, so a wrapper left behind passes through."""

    def __init__(self, installation: Installation) -> None:
        self.installation: Installation | None = installation


def _intercepting(original: Callable[..., requests.Response], slot: _Slot) -> Callable[..., requests.Response]:
    @functools.wraps(original)
    def send(self: HTTPAdapter, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        installation = slot.installation
        if installation is not None and not is_internal_adapter(self):
            response = installation.serve(request, self)
            if response is not None:
                return response
            request = installation.onward(request)
        return original(self, request, *args, **kwargs)

    return send


@dataclass
class Installed:
    """The active ``install()``: its installation, the patch in place and how many handles hold it."""

    installation: Installation
    slot: _Slot
    original: Callable[..., requests.Response]
    wrapper: Callable[..., requests.Response]
    handles: int


_lock = threading.Lock()
_installed: Installed | None = None


def current() -> Installed | None:
    """The active ``install()``, or ``None`` when requests is not patched."""
    return _installed


def install(
    *,
    legacy_base_url: str | None = None,
    options: Settings | None = None,
    **overrides: Unpack[InterceptOverrides],
) -> InstallHandle:
    """Serve V1 calls made with ``requests`` (any session, and ``requests.post(...)`` & co.) on V3.

    ``legacy_base_url`` is where the legacy code sends its calls: by default both
    ``https://api.scriptix.io`` (Batch V1) and ``https://api.zoommedia.ai`` (the Zoom Media API
    v1/v2), a URL narrows it to that one; on each, the path decides which generation serves a call.
    ``base_url`` is the shim's upstream (default: Scriptix, from ``SCRIPTIX_BASE_URL`` if set); a
    request to a legacy URL other than ``base_url`` that is not a legacy call is sent to ``base_url``
    too (same method, headers, body, path below the prefix and query), never to the legacy host.
    The other options are :class:`compat.Options` (``options=``, and keyword overrides on top), as
    for :class:`compat.LegacyClient`; there is no ``api_key``: each request brings its token.

    Calling it again while installed with the same options returns another handle to the same
    installation (requests are restored once every handle is uninstalled); with other options it
    raises :class:`compat.ConfigurationError`. Use the handle as a context manager, or call
    ``handle.uninstall()``.
    """
    global _installed
    wanted = InterceptOptions.build(legacy_base_url, options, overrides)
    with _lock:
        if _installed is not None:
            if _installed.installation.options != wanted:
                raise ConfigurationError(
                    "compat.install() is already active with other options; uninstall it first",
                    option="install",
                )
            _installed.handles += 1
            return InstallHandle(_installed.installation, release_install)
        installation = Installation(wanted, via="compat.install()")
        original = vars(HTTPAdapter)[_PATCHED]
        slot = _Slot(installation)
        wrapper = _intercepting(original, slot)
        setattr(HTTPAdapter, _PATCHED, wrapper)
        _installed = Installed(installation, slot, original, wrapper, handles=1)
    log.debug(
        "installed: legacy calls to %s are served on %s",
        ", ".join(installation.targets.urls),
        installation.v3.settings.base_url,
    )
    return InstallHandle(installation, release_install)


def release_install() -> None:
    """Drop one handle of the active ``install()``; the last one restores ``HTTPAdapter.send``."""
    global _installed
    with _lock:
        installed = _installed
        if installed is None:
            return
        installed.handles -= 1
        if installed.handles > 0:
            return
        installed.slot.installation = None
        if vars(HTTPAdapter).get(_PATCHED) is installed.wrapper:
            setattr(HTTPAdapter, _PATCHED, installed.original)
        else:
            log.warning(
                "HTTPAdapter.send was patched again after compat.install(); leaving that patch in place "
                "(the shim's wrapper under it now passes every request through)"
            )
        _installed = None
    installed.installation.close()
