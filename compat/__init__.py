"""scriptix-compat: keep Scriptix Batch API V1 integrations working while speaking V3 (TUS).

The public names live here; every other module is an implementation detail. They are loaded when
first used (``compat.LegacyClient``, ``from compat import install``), so ``import compat`` (and
``scriptix-compat --help``) loads no HTTP stack. Importing the package also connects the staging
toolkit to the shim: :func:`compat.staging.notice.observe` is the observer of every legacy call
(:mod:`compat.hooks`), and :class:`LegacyV1Warning` is shown by default.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from compat import hooks as _hooks
from compat import lazy as _lazy
from compat._version import __version__
from compat.staging.notice import LegacyV1Warning, observe

if TYPE_CHECKING:
    from compat.config import Settings
    from compat.errors import (
        APIConnectionError,
        APIStatusError,
        APITimeoutError,
        AuthenticationError,
        BadRequestError,
        ConfigurationError,
        ConflictError,
        GoneError,
        InvalidRequestError,
        LegacyCallError,
        NotFoundError,
        PayloadTooLargeError,
        PermissionDeniedError,
        PreconditionFailedError,
        RateLimitError,
        ScriptixError,
        ServerError,
        ServiceUnavailableError,
        StoreError,
        UnprocessableEntityError,
        UnsupportedMediaTypeError,
        UploadCancelledError,
        UploadError,
        WaitTimeoutError,
    )
    from compat.intercept import InstallHandle, install, mount
    from compat.legacy import LegacyClient
    from compat.options import Options
    from compat.store import SQLiteStore
    from compat.v3 import UploadResult, V3Client

_hooks.add_observer(observe)

# Every other public name, and the module that defines it.
_LAZY: dict[str, str] = {
    "Settings": "compat.config",
    "APIConnectionError": "compat.errors",
    "APIStatusError": "compat.errors",
    "APITimeoutError": "compat.errors",
    "AuthenticationError": "compat.errors",
    "BadRequestError": "compat.errors",
    "ConfigurationError": "compat.errors",
    "ConflictError": "compat.errors",
    "GoneError": "compat.errors",
    "InvalidRequestError": "compat.errors",
    "LegacyCallError": "compat.errors",
    "NotFoundError": "compat.errors",
    "PayloadTooLargeError": "compat.errors",
    "PermissionDeniedError": "compat.errors",
    "PreconditionFailedError": "compat.errors",
    "RateLimitError": "compat.errors",
    "ScriptixError": "compat.errors",
    "ServerError": "compat.errors",
    "ServiceUnavailableError": "compat.errors",
    "StoreError": "compat.errors",
    "UnprocessableEntityError": "compat.errors",
    "UnsupportedMediaTypeError": "compat.errors",
    "UploadCancelledError": "compat.errors",
    "UploadError": "compat.errors",
    "WaitTimeoutError": "compat.errors",
    "InstallHandle": "compat.intercept",
    "install": "compat.intercept",
    "mount": "compat.intercept",
    "LegacyClient": "compat.legacy",
    "Options": "compat.options",
    "SQLiteStore": "compat.store",
    "UploadResult": "compat.v3",
    "V3Client": "compat.v3",
}

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "GoneError",
    "InstallHandle",
    "InvalidRequestError",
    "LegacyCallError",
    "LegacyClient",
    "LegacyV1Warning",
    "NotFoundError",
    "Options",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PreconditionFailedError",
    "RateLimitError",
    "SQLiteStore",
    "ScriptixError",
    "ServerError",
    "ServiceUnavailableError",
    "Settings",
    "StoreError",
    "UnprocessableEntityError",
    "UnsupportedMediaTypeError",
    "UploadCancelledError",
    "UploadError",
    "UploadResult",
    "V3Client",
    "WaitTimeoutError",
    "__version__",
    "install",
    "mount",
]


__getattr__, __dir__ = _lazy.module_attributes(globals(), _LAZY, __name__)
