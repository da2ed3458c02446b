"""What Scriptix speaks today: transport, TUS uploads, the client and its models."""

from compat.v3.client import V3Client
from compat.v3.models import (
    FileInfo,
    Segment,
    Session,
    SessionSummary,
    Transcript,
    TusCapabilities,
    UploadResult,
)

__all__ = [
    "FileInfo",
    "Segment",
    "Session",
    "SessionSummary",
    "Transcript",
    "TusCapabilities",
    "UploadResult",
    "V3Client",
]
