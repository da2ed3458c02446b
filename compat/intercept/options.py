"""What one ``install()`` or ``mount()`` is built from: the legacy URL, the options, an open store."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from compat.config import Settings
from compat.intercept.target import LegacyTargets
from compat.options import Options, resolve_options

__all__ = ["InterceptOptions"]

_NO_TOKEN = (
    "install() and mount() take no api_key: the token comes from each intercepted request's "
    "x-zoom-s2t-key (or Authorization: Bearer) header"
)


@dataclass(frozen=True)
class InterceptOptions:
    """What one installation is built from; equal ones mean the same installation."""

    targets: LegacyTargets
    options: Options
    store: Any | None  # an open store given as store= (compared by identity), else None

    @classmethod
    def build(
        cls, legacy_base_url: str | None, options: Settings | None, overrides: Mapping[str, object]
    ) -> InterceptOptions:
        """The options of an ``install()`` or ``mount()`` call, checked and resolved once.

        Raises :class:`compat.ConfigurationError` for an ``api_key`` (each request brings its token),
        a bad option, or a ``legacy_base_url`` that is not a plain http(s) URL (``None``: both legacy
        hosts, :data:`~compat.intercept.target.DEFAULT_LEGACY_URLS`).
        """
        resolved, store = resolve_options(options, overrides, no_token=_NO_TOKEN)
        return cls(LegacyTargets.parse(legacy_base_url), resolved, store)
