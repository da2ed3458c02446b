"""Helpers shared by the emulator tests."""

from __future__ import annotations

import hashlib
import os
import time
import wave
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from compat.emulator import encode_metadata

TOKEN = "emulator-test-token"
OTHER_TOKEN = "someone-else"
MIB = 1024 * 1024
METADATA = {"language": "en", "document_type": "caption", "filename": "talk.wav", "filetype": "audio/wav"}

T = TypeVar("T")


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"x-zoom-s2t-key": token}


def tus(token: str = TOKEN, **extra: str) -> dict[str, str]:
    """Headers of a TUS request (``Upload_Length`` style keywords become ``Upload-Length``)."""
    headers = {"Tus-Resumable": "1.0.0", **auth(token)}
    headers.update({key.replace("_", "-"): value for key, value in extra.items()})
    return headers


def metadata_header(**overrides: str) -> str:
    values = dict(METADATA)
    values.update(overrides)
    return encode_metadata(values)


def make_wav(path: Path, seconds: float = 1.0, rate: int = 8000, channels: int = 1) -> Path:
    """A PCM WAV of ``seconds`` of a quiet ramp, written with the ``wave`` module."""
    frames = int(seconds * rate)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(bytes((i % 7) for i in range(frames * 2 * channels)))
    return path


def write_random(path: Path, size: int, block: int = MIB) -> Path:
    """A file of ``size`` random bytes, written block by block."""
    with open(path, "wb") as out:
        left = size
        while left:
            chunk = os.urandom(min(block, left))
            out.write(chunk)
            left -= len(chunk)
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(MIB):
            digest.update(block)
    return digest.hexdigest()


def eventually(check: Callable[[], T | None], timeout: float = 5.0, interval: float = 0.02) -> T:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)
