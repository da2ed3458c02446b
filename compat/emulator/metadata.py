"""TUS ``Upload-Metadata``: comma-separated ``key base64(value)`` pairs (TUS 1.0.0, creation)."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping

__all__ = ["MetadataError", "encode_metadata", "parse_metadata"]

_KEY = re.compile(r"^[!-~]+$")  # printable ASCII without spaces; commas are split on first


class MetadataError(ValueError):
    """The header breaks the spec (empty, a bad key, a duplicate key, a value that is not base64)."""


def parse_metadata(header: str | None) -> dict[str, str]:
    """Decode ``Upload-Metadata``; ``None`` (no header) is no metadata, an empty header is an error.

    Values are standard base64 with padding and must decode to UTF-8; a key may come without a
    value (``is_confidential``), which decodes to ``""``.
    """
    if header is None:
        return {}
    if not header.strip():
        raise MetadataError("Upload-Metadata must hold at least one key (the header is empty)")
    result: dict[str, str] = {}
    for raw_pair in header.split(","):
        pair = raw_pair.strip()
        if not pair:
            raise MetadataError("Upload-Metadata has an empty pair")
        key, _, value = pair.partition(" ")
        value = value.strip()
        if not _KEY.fullmatch(key):
            raise MetadataError(f"Upload-Metadata key {key[:40]!r} is not printable ASCII without spaces")
        if key in result:
            raise MetadataError(f"Upload-Metadata key {key!r} is given twice (keys must be unique)")
        if " " in value:
            raise MetadataError(f"Upload-Metadata value of {key!r} holds a space")
        try:
            result[key] = base64.b64decode(value, validate=True).decode("utf-8") if value else ""
        except (binascii.Error, ValueError):
            raise MetadataError(f"Upload-Metadata value of {key!r} is not base64 of UTF-8 text") from None
    return result


def encode_metadata(metadata: Mapping[str, str]) -> str:
    """The ``Upload-Metadata`` header for ``metadata`` (the inverse of :func:`parse_metadata`)."""
    pairs = []
    for key, value in metadata.items():
        if not _KEY.fullmatch(key) or "," in key:
            raise MetadataError(f"metadata key {key!r} is not printable ASCII without spaces or commas")
        pairs.append(f"{key} {base64.b64encode(value.encode('utf-8')).decode('ascii')}" if value else key)
    return ",".join(pairs)
