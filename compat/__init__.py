"""scriptix-compat: keep Scriptix Batch API V1 integrations working while speaking V3 (TUS).

The public names live here; every other module is an implementation detail.
"""

from compat._version import __version__
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
)
from compat.intercept import InstallHandle, install, mount
from compat.legacy import LegacyClient, WaitTimeoutError
from compat.staging.notice import LegacyCallError, LegacyV1Warning
from compat.store import SQLiteStore
from compat.v3 import UploadResult, V3Client

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
