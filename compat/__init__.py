"""scriptix-compat: keep Scriptix Batch API V1 integrations working while speaking V3 (TUS).

The public names live here; every other module is an implementation detail.
"""

from compat import errors
from compat._version import __version__
from compat.config import Settings
from compat.errors import *  # noqa: F403  (every error is public: the names in errors.__all__)
from compat.intercept import InstallHandle, install, mount
from compat.legacy import LegacyClient
from compat.options import Options
from compat.staging.notice import LegacyV1Warning
from compat.store import SQLiteStore
from compat.v3 import UploadResult, V3Client

__all__ = [
    "InstallHandle",
    "LegacyClient",
    "LegacyV1Warning",
    "Options",
    "SQLiteStore",
    "Settings",
    "UploadResult",
    "V3Client",
    "__version__",
    "install",
    "mount",
]
__all__ += errors.__all__  # every exception, named once: in compat/errors.py
