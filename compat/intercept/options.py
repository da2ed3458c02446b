"""The options of ``install()`` and ``mount()``, validated and normalised once for both."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from compat.errors import ConfigurationError
from compat.intercept.target import LegacyTarget
from compat.store import SQLiteStore
from compat.translate import AlignStrategy, MediaSourceMode
from compat.v1.validation import UnknownFields

__all__ = ["InterceptOptions"]

# The keyword arguments of install() and mount() taken as they are (legacy_base_url, store and
# settings are normalised by InterceptOptions.from_arguments).
_TAKEN_AS_GIVEN = (
    "base_url",
    "timeout",
    "max_retries",
    "chunk_size",
    "allow_private_media",
    "media_source_mode",
    "align_strategy",
    "unknown_fields",
    "document_type",
    "max_media_bytes",
    "allow_insecure_webhooks",
)


@dataclass(frozen=True)
class InterceptOptions:
    """What one installation is built from; equal options mean the same installation."""

    target: LegacyTarget
    base_url: str | None
    timeout: float | None
    max_retries: int | None
    chunk_size: int | str | None
    store: str | SQLiteStore | None
    allow_private_media: bool
    media_source_mode: MediaSourceMode
    align_strategy: AlignStrategy
    unknown_fields: UnknownFields
    document_type: str
    max_media_bytes: int
    allow_insecure_webhooks: bool
    settings: dict[str, Any]

    @classmethod
    def from_arguments(cls, arguments: Mapping[str, Any]) -> InterceptOptions:
        """The options of an ``install()`` or ``mount()`` call, from its arguments (its ``locals()``).

        Raises :class:`compat.ConfigurationError` for an ``api_key`` (each request brings its token)
        or a ``legacy_base_url`` that is not a plain http(s) URL.
        """
        settings: Mapping[str, Any] = arguments["settings"]
        if "api_key" in settings:
            raise ConfigurationError(
                "install() and mount() take no api_key: the token comes from each intercepted request's "
                "x-zoom-s2t-key (or Authorization: Bearer) header",
                option="api_key",
            )
        target = LegacyTarget.parse(arguments["legacy_base_url"])
        store = arguments["store"]
        return cls(
            target=target,
            store=os.fspath(store) if isinstance(store, os.PathLike) else store,
            settings=dict(settings),
            **{name: arguments[name] for name in _TAKEN_AS_GIVEN},
        )
