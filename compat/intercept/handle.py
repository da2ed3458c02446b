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
    :class:`~compat.V3Client`; ``legacy_base_urls`` are the URLs whose legacy calls are served
    (``legacy_base_url``, the first of them: ``https://api.scriptix.io`` by default).
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
        return self._installation.targets.url

    @property
    def legacy_base_urls(self) -> tuple[str, ...]:
        """Every URL served: ``https://api.scriptix.io`` and ``https://api.zoommedia.ai``, unless
        ``legacy_base_url`` narrowed them to one."""
        return self._installation.targets.urls

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
        urls = self.legacy_base_urls
        also = f" (and {', '.join(urls[1:])})" if len(urls) > 1 else ""
        return f"<InstallHandle {self._installation.via} legacy_base_url={self.legacy_base_url!r}{also} {state}>"
