"""The legacy URLs: which requests are legacy calls to serve, and the ``Session.mount`` prefix of each.

By default ``install()`` and ``mount()`` cover both hosts legacy code calls: ``https://api.scriptix.io``
(Batch V1, and Scriptix's own ``api/v2``) and ``https://api.zoommedia.ai`` (the Zoom Media API v1/v2,
before the Scriptix name); ``legacy_base_url`` narrows them to one URL. On each, the path decides
which generation's front door serves a call (:mod:`compat.frontdoor.routes`).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from compat.config import DEFAULT_BASE_URL
from compat.errors import ConfigurationError

__all__ = ["DEFAULT_LEGACY_URLS", "ZOOM_MEDIA_URL", "LegacyTarget", "LegacyTargets"]

ZOOM_MEDIA_URL = "https://api.zoommedia.ai"
DEFAULT_LEGACY_URLS = (DEFAULT_BASE_URL, ZOOM_MEDIA_URL)
"""What ``install()`` and ``mount()`` cover unless ``legacy_base_url`` narrows it."""

_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class LegacyTarget:
    """Scheme, host, port and path prefix that legacy callers send V1 calls to."""

    url: str
    scheme: str
    host: str
    port: int
    path: str

    @classmethod
    def parse(cls, url: str) -> LegacyTarget:
        """The target of ``url``; :class:`compat.ConfigurationError` unless it is a plain http(s) URL."""
        text = str(url).strip().rstrip("/")
        shown = "<a URL with credentials>" if "@" in text else repr(text)
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError:
            raise ConfigurationError(
                f"option 'legacy_base_url': {shown} is not an http(s) URL", option="legacy_base_url"
            ) from None
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise ConfigurationError(
                f"option 'legacy_base_url': {shown} is not an http(s) URL such as https://api.scriptix.io",
                option="legacy_base_url",
            )
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ConfigurationError(
                f"option 'legacy_base_url': {shown} is not a plain URL (no query, fragment or credentials)",
                option="legacy_base_url",
            )
        return cls(text, scheme, parts.hostname, port or _DEFAULT_PORTS[scheme], parts.path.rstrip("/"))

    def relative_path(self, url: str) -> str | None:
        """The path of ``url`` below the legacy base (query dropped), or ``None`` if not the legacy URL."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return None
        scheme = parts.scheme.lower()
        if scheme != self.scheme or parts.hostname != self.host:
            return None
        if (port or _DEFAULT_PORTS.get(scheme)) != self.port:
            return None
        path = parts.path or "/"
        if not self.path:
            return path
        if path == self.path or path.startswith(self.path + "/"):
            return path[len(self.path) :] or "/"
        return None

    def rebased(self, url: str, base_url: str) -> str | None:
        """``url`` moved onto ``base_url``: its path below the legacy base (still percent-encoded) and its
        query, appended to ``base_url``; ``None`` if ``url`` is not the legacy URL."""
        path = self.relative_path(url)
        if path is None:
            return None
        query = urlsplit(url).query
        return base_url.rstrip("/") + path + (f"?{query}" if query else "")

    @property
    def mount_prefix(self) -> str:
        """The ``Session.mount`` prefix: ends in ``/`` so ``api.scriptix.io.example`` is not matched."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = "" if self.port == _DEFAULT_PORTS[self.scheme] else f":{self.port}"
        return f"{self.scheme}://{host}{port}{self.path}/"


@dataclass(frozen=True)
class LegacyTargets:
    """The legacy URLs one installation serves: :data:`DEFAULT_LEGACY_URLS`, or the one ``legacy_base_url``."""

    targets: tuple[LegacyTarget, ...]

    @classmethod
    def parse(cls, legacy_base_url: str | None) -> LegacyTargets:
        """Both default hosts for ``None``; else the one URL (see :meth:`LegacyTarget.parse`)."""
        urls = DEFAULT_LEGACY_URLS if legacy_base_url is None else (legacy_base_url,)
        return cls(tuple(LegacyTarget.parse(url) for url in urls))

    @property
    def url(self) -> str:
        """The first legacy URL (``https://api.scriptix.io`` by default)."""
        return self.targets[0].url

    @property
    def urls(self) -> tuple[str, ...]:
        return tuple(target.url for target in self.targets)

    def find(self, url: str) -> tuple[LegacyTarget, str] | None:
        """The target ``url`` is for and its path below it, or ``None`` when it is for none of them."""
        for target in self.targets:
            path = target.relative_path(url)
            if path is not None:
                return target, path
        return None
