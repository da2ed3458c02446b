"""``mount()``: a shim adapter on one ``requests.Session`` for the legacy URL prefixes."""

from __future__ import annotations

import weakref
from typing import Any

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from typing_extensions import Unpack

from compat.config import Settings
from compat.intercept.handle import InstallHandle
from compat.intercept.installation import Installation
from compat.intercept.options import InterceptOptions
from compat.options import InterceptOverrides

__all__ = ["mount"]


class _MountedAdapter(HTTPAdapter):
    """The shim for one session: serves legacy calls, hands anything else to the session's next adapter."""

    def __init__(self, installation: Installation, session: requests.Session) -> None:
        super().__init__(pool_connections=1, pool_maxsize=1)
        self._installation = installation
        self._session = weakref.ref(session)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        response = self._installation.serve(request, self)
        if response is not None:
            return response
        onward = self._installation.onward(request)
        return self._next_adapter(onward.url or "").send(onward, *args, **kwargs)

    def _next_adapter(self, url: str) -> BaseAdapter:
        """The adapter ``session.get_adapter(url)`` would return without this one."""
        session = self._session()
        if session is not None:
            for prefix, adapter in session.adapters.items():
                if adapter is not self and url.lower().startswith(prefix.lower()):
                    return adapter
        return HTTPAdapter()


def mount(
    session: requests.Session,
    *,
    legacy_base_url: str | None = None,
    options: Settings | None = None,
    **overrides: Unpack[InterceptOverrides],
) -> InstallHandle:
    """Serve legacy calls made through ``session`` only; other sessions and ``requests.post`` are untouched.

    Mounts a shim adapter on ``session`` for each legacy URL prefix (``https://api.scriptix.io/`` and
    ``https://api.zoommedia.ai/``, or ``legacy_base_url``; options as for :func:`install`).
    ``handle.uninstall()`` unmounts it and puts back the adapter that was mounted at each of those
    exact prefixes before, if any.
    """
    if not isinstance(session, requests.Session):
        raise TypeError(f"mount() takes a requests.Session, not {type(session).__name__}")
    installation = Installation(InterceptOptions.build(legacy_base_url, options, overrides), via="compat.mount()")
    adapter = _MountedAdapter(installation, session)
    previous: dict[str, BaseAdapter | None] = {}
    for target in installation.targets.targets:
        prefix = target.mount_prefix
        previous.setdefault(prefix, session.adapters.get(prefix))
        session.mount(prefix, adapter)

    def release() -> None:
        for prefix, before in previous.items():
            if session.adapters.get(prefix) is adapter:
                del session.adapters[prefix]
                if before is not None:
                    session.mount(prefix, before)
        installation.close()

    return InstallHandle(installation, release)
