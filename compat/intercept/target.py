"""The legacy URL: which requests are V1 calls to serve, and the ``Session.mount`` prefix for it."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from compat.errors import ConfigurationError

__all__ = ["LegacyTarget"]

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
