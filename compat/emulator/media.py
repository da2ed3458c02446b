"""What the emulator "hears" in a file: its format, audio or video, duration and content hash.

The readable-media rule: a file is media when its first bytes carry a known signature —

* ``RIFF`` + ``WAVE`` (WAV; the duration comes from the ``fmt `` and ``data`` chunks, and a WAV
  without a usable ``fmt `` chunk is unreadable), ``RIFF`` + ``AVI `` (video);
* ``ID3`` or an MPEG frame sync (``0xFFE``: MP3, AAC/ADTS);
* ``fLaC`` (FLAC), ``OggS`` (Ogg);
* ``ftyp`` at offset 4 (MP4, M4A, MOV: audio for ``M4A``/``M4B``/``M4P`` brands, else video);
* EBML ``1A 45 DF A3`` (Matroska, WebM: video).

Anything else (including an empty file) is not media: its session ends ``failed`` with an error.
Durations other than WAV are estimated from the size at 16 kB/s (128 kbit/s). A declared
``audio/*`` or ``video/*`` type decides between audio and video when it is given.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import IO

__all__ = ["ESTIMATED_BYTES_PER_SECOND", "MediaInfo", "analyse_media", "wav_duration"]

ESTIMATED_BYTES_PER_SECOND = 16_000
_BLOCK = 1024 * 1024
_HEAD = 64
_AUDIO_MP4_BRANDS = (b"M4A ", b"M4B ", b"M4P ")


@dataclass(frozen=True)
class MediaInfo:
    """The result of :func:`analyse_media`.

    ``kind`` is ``"audio"``/``"video"`` (``None`` when not media), ``mime`` the type the session
    object shows, ``error`` why the file cannot be processed (``None`` when it can).
    """

    size: int
    sha256: str
    format: str | None
    kind: str | None
    mime: str | None
    duration: float
    error: str | None

    @property
    def readable(self) -> bool:
        return self.error is None


def wav_duration(stream: IO[bytes], size: int) -> float | None:
    """Seconds of audio in a RIFF/WAVE stream from its ``fmt `` and ``data`` chunks, or ``None``."""
    stream.seek(0)
    header = stream.read(12)
    if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
        return None
    byte_rate: int | None = None
    position = 12
    while position + 8 <= size:
        stream.seek(position)
        chunk = stream.read(8)
        if len(chunk) < 8:
            return None
        chunk_id, chunk_size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        if chunk_id == b"fmt ":
            fmt = stream.read(min(chunk_size, 16))
            if len(fmt) < 16:
                return None
            _format, channels, sample_rate, byte_rate, _align, _bits = struct.unpack("<HHIIHH", fmt)
            if not channels or not sample_rate or not byte_rate:
                return None
        elif chunk_id == b"data":
            if byte_rate is None:
                return None
            available = size - position - 8
            data_size = available if chunk_size in (0, 0xFFFFFFFF) else min(chunk_size, available)
            return max(0, data_size) / byte_rate
        position += 8 + chunk_size + (chunk_size & 1)
    return None


def _sniff(head: bytes) -> tuple[str, str, str] | None:
    """``(format, kind, mime)`` from a file's first bytes, or ``None``."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav", "audio", "audio/wav"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi", "video", "video/x-msvideo"
    if head[:3] == b"ID3" or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mpeg", "audio", "audio/mpeg"
    if head[:4] == b"fLaC":
        return "flac", "audio", "audio/flac"
    if head[:4] == b"OggS":
        return "ogg", "audio", "audio/ogg"
    if head[4:8] == b"ftyp":
        if head[8:12] in _AUDIO_MP4_BRANDS:
            return "mp4", "audio", "audio/mp4"
        return "mp4", "video", "video/mp4"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "matroska", "video", "video/webm"
    return None


def analyse_media(path: Path, declared_type: str | None = None) -> MediaInfo:
    """Read ``path`` once (in blocks): its hash, and whether and how the emulator can "transcribe" it."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        head = stream.read(_HEAD)
        digest.update(head)
        size = len(head)
        while block := stream.read(_BLOCK):
            digest.update(block)
            size += len(block)
        sniffed = _sniff(head)
        duration: float | None = None
        error: str | None = None
        if size == 0:
            error = "Unsupported media: the file is empty"
        elif sniffed is None:
            error = "Unsupported media: the file is not a known audio or video format"
        elif sniffed[0] == "wav":
            duration = wav_duration(stream, size)
            if duration is None:
                error = "Unsupported media: the WAV file has no usable fmt/data chunks"
    if sniffed is None or error is not None:
        return MediaInfo(size, digest.hexdigest(), None, None, None, 0.0, error)
    fmt, kind, mime = sniffed
    declared = (declared_type or "").split(";", 1)[0].strip().lower()
    if declared.partition("/")[0] in ("audio", "video"):
        kind, mime = declared.partition("/")[0], declared
    if duration is None:
        duration = size / ESTIMATED_BYTES_PER_SECOND
    return MediaInfo(size, digest.hexdigest(), fmt, kind, mime, round(duration, 3), None)
