"""``InstallHandle``: what ``install()`` and ``mount()`` return, to inspect and undo the interception."""

from __future__ import annotations

import threading
from collections.abc import Callable

from compat.intercept.installation import Installation
from compat.translate import Translator
from compat.v3.client import V3Client

__all__ = ["InstallHandle"]


class InstallHandle:
    """A live interception: ``uninstall()`` (or leaving the ``with`` block) removes it.

    ``translator`` and ``v3`` are the installation's :class:`~compat.translate.Translator` and
    :class:`~compat.V3Client`; ``legacy_base_url`` is the URL whose V1 calls are served.
    ``uninstall()`` may be called more than once; only the first call counts.
    """

    def __init__(self, installation: Installation, release: Callable[[], None]) -> None:
        self._installation = installation
        self._release = release
        self._live = True
        self._lock = threading.Lock()

    @property
    def translator(self) -> Translator:
        return self._installation.translator

    @property
    def v3(self) -> V3Client:
        return self._installation.v3

    @property
    def legacy_base_url(self) -> str:
        return self._installation.target.url

    @property
    def installed(self) -> bool:
        """Whether this handle has not been uninstalled yet."""
        return self._live

    def uninstall(self) -> None:
        """Stop serving V1 calls through this handle and restore what was there before."""
        with self._lock:
            if not self._live:
                return
            self._live = False
        self._release()

    def __enter__(self) -> InstallHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.uninstall()

    def __repr__(self) -> str:
        state = "installed" if self._live else "uninstalled"
        return f"<InstallHandle {self._installation.via} legacy_base_url={self.legacy_base_url!r} {state}>"
