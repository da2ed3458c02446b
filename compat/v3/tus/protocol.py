"""TUS 1.0.0 on the wire: the headers each request carries, metadata encoding, status classes.

Pure functions and constants, no I/O: what the spec says, in one place (tus.io/protocols/resumable-upload).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping

__all__ = [
    "DEFER_LENGTH_EXTENSION",
    "GONE_STATUSES",
    "OFFSET_CONTENT_TYPE",
    "RESUMABLE_PATCH_STATUSES",
    "TUS_VERSION",
    "creation_headers",
    "encode_metadata",
    "int_value",
    "patch_headers",
    "tus_headers",
]

TUS_VERSION = "1.0.0"
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
# The Tus-Extension token of a server that takes Upload-Defer-Length: 1 on creation.
DEFER_LENGTH_EXTENSION = "creation-defer-length"
# Answers to a PATCH after which the server's offset is asked for and the upload goes on:
# timeout, offset conflict, locked, too many requests, checksum mismatch, any server error.
RESUMABLE_PATCH_STATUSES = frozenset({408, 409, 423, 429, 460}) | frozenset(range(500, 600))
# Answers that mean the upload no longer exists on the server (expired, terminated, never ours).
GONE_STATUSES = frozenset({403, 404, 410})

_METADATA_KEY = re.compile(r"[^\s,]+")


def tus_headers() -> dict[str, str]:
    """The header every TUS request but ``OPTIONS`` carries."""
    return {"Tus-Resumable": TUS_VERSION}


def encode_metadata(metadata: Mapping[str, str]) -> str | None:
    """``Upload-Metadata``: ``key base64(utf-8 value)`` pairs joined by commas; None when empty.

    An empty header breaks the spec ("one or more pairs") and ``@tus/server`` refuses it, so the
    caller leaves the header out instead.
    """
    pairs = []
    for key, value in metadata.items():
        if not _METADATA_KEY.fullmatch(key):
            raise ValueError(f"Upload-Metadata key {key!r} must be non-empty, without spaces or commas")
        pairs.append(f"{key} {base64.b64encode(value.encode('utf-8')).decode('ascii')}")
    return ",".join(pairs) or None


def creation_headers(length: int | None, metadata: Mapping[str, str]) -> dict[str, str]:
    """Headers of the creation ``POST`` for an upload of ``length`` bytes (None: ``Upload-Defer-Length: 1``)."""
    headers = {**tus_headers()}
    if length is None:
        headers["Upload-Defer-Length"] = "1"
    else:
        headers["Upload-Length"] = str(length)
    encoded = encode_metadata(metadata)
    if encoded is not None:
        headers["Upload-Metadata"] = encoded
    return headers


def patch_headers(offset: int, upload_length: int | None = None) -> dict[str, str]:
    """Headers of a ``PATCH`` that appends bytes at ``offset``; with ``upload_length``, it declares
    the length of an upload created with a deferred length (creation-defer-length)."""
    headers = {**tus_headers(), "Upload-Offset": str(offset), "Content-Type": OFFSET_CONTENT_TYPE}
    if upload_length is not None:
        headers["Upload-Length"] = str(upload_length)
    return headers


def int_value(value: str | None) -> int | None:
    """An integer header's value, or None when it is missing or not a decimal number."""
    text = (value or "").strip()
    return int(text) if text.isascii() and text.isdigit() else None
