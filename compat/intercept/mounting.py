"""``mount()``: a shim adapter on one ``requests.Session`` for the legacy URL prefix."""

from __future__ import annotations

import weakref
from typing import Any

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from typing_extensions import Unpack

from compat.config import DEFAULT_BASE_URL, Settings
from compat.intercept.handle import InstallHandle
from compat.intercept.installation import Installation
from compat.intercept.options import InterceptOptions
from compat.options import InterceptOverrides

__all__ = ["mount"]


class _MountedAdapter(HTTPAdapter):
    """The shim for one session: serves V1 calls, hands anything else to the session's next adapter."""

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
    legacy_base_url: str = DEFAULT_BASE_URL,
    options: Settings | None = None,
    **overrides: Unpack[InterceptOverrides],
) -> InstallHandle:
    """Serve V1 calls made through ``session`` only; other sessions and ``requests.post`` are untouched.

    Mounts a shim adapter on ``session`` for the ``legacy_base_url`` prefix (options as for
    :func:`install`). ``handle.uninstall()`` unmounts it and puts back the adapter that was mounted
    at that exact prefix before, if any.
    """
    if not isinstance(session, requests.Session):
        raise TypeError(f"mount() takes a requests.Session, not {type(session).__name__}")
    installation = Installation(InterceptOptions.build(legacy_base_url, options, overrides), via="compat.mount()")
    prefix = installation.target.mount_prefix
    adapter = _MountedAdapter(installation, session)
    previous = session.adapters.get(prefix)
    session.mount(prefix, adapter)

    def release() -> None:
        if session.adapters.get(prefix) is adapter:
            del session.adapters[prefix]
            if previous is not None:
                session.mount(prefix, previous)
        installation.close()

    return InstallHandle(installation, release)
