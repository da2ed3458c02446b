"""The emulator's start-up options, checked once."""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from compat.formats import TimeUnit, check_time_unit

__all__ = [
    "ANY",
    "DEFAULT_LANGUAGES",
    "DEFAULT_MAX_SIZE",
    "DEFAULT_PROCESSING_DELAY",
    "DEFAULT_UPLOAD_EXPIRY",
    "DEFAULT_V1_TOKENS",
    "WEBHOOK_SCHEDULE",
    "EmulatorOptions",
]

DEFAULT_PROCESSING_DELAY = 1.0
DEFAULT_UPLOAD_EXPIRY = 24 * 3600.0
DEFAULT_MAX_SIZE = 10 * 1024**3  # the 10 GiB ``maxTotalFileSize`` of Scriptix's own upload widget
DEFAULT_WEBHOOK_TIMEOUT = 20.0  # "must respond with a 2XX status code within 20 seconds"
# Minutes after completion at which a webhook is (re)tried: 00:00, +1, +3, +8, +23, +53 (scriptix-api.md §2.7).
WEBHOOK_SCHEDULE = (0.0, 1.0, 3.0, 8.0, 23.0, 53.0)

ANY: Literal["any"] = "any"
"""``tokens=ANY`` / ``languages=ANY``: accept every token (each one is an account) / every language."""
# The tokens V1 mode accepts unless told otherwise: one to use and one for "another account" tests.
DEFAULT_V1_TOKENS = ("test-token", "other-token")
# The languages V1 mode accepts unless told otherwise. Scriptix lists them only "in the API portal";
# this is the list its Custom Models pages document (scriptix-api.md §1.4). A listed code also
# covers its regional forms: "en" accepts "en-US", "en-gb", "en_GB".
DEFAULT_LANGUAGES = (
    *("en", "nl", "fr", "de", "es", "it", "pt", "pl", "cs", "da", "fi", "el", "hu", "no", "ro", "sk", "sv"),
    *("ar", "he", "tr", "fa", "zh", "ja", "ko", "hi", "th", "id", "vi", "ru", "uk", "ms", "ta", "te"),
)
_TOKEN = re.compile(r"^[\x21-\x7e]+$")  # what an HTTP header value can carry once stripped
_LANGUAGE = re.compile(r"^[A-Za-z0-9]+([-_][A-Za-z0-9]+)*$")

Allowed = Collection[str] | Literal["any"] | None


def _finite(name: str, value: float, *, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < minimum:
        raise ValueError(f"{name} must be a finite number >= {minimum:g}, not {value!r}")
    return float(value)


@dataclass(frozen=True)
class EmulatorOptions:
    """How an emulator behaves; every field has a documented default.

    Attributes:
        processing_delay: seconds from a finished upload to ``done`` (half of it ``uploaded``,
            half ``processing``).
        webhook_speed: time compression of the webhook retry schedule (``600`` makes 1 min 0.1 s).
        webhook_timeout: seconds a webhook receiver has to answer 2xx (not compressed).
        v1: the legacy mode: also serve the V1-only calls (PUT upload, ``/align``, ``media_source``)
            and the Zoom Media API v1/v2 routes (``/api/v1|v2/speech-to-text/session…``) instead of 410.
        max_size: the largest upload in bytes (``Tus-Max-Size``).
        upload_expiry: seconds of inactivity after which an unfinished upload expires.
        transcripts: scripted transcripts, file name -> text (other files get lorem-style words).
        storage_dir: where uploads are stored; ``None``: a temporary directory removed on stop.
        tokens: the valid tokens (another gets 401), or ``"any"`` (every non-empty token is an
            account). ``None``: :data:`DEFAULT_V1_TOKENS` with ``v1``, else ``"any"``. Resolved to
            a ``frozenset`` or ``"any"``; never shown in the repr.
        languages: the supported languages (another gets 400 ``Invalid language``), or ``"any"``.
            ``None``: :data:`DEFAULT_LANGUAGES` with ``v1``, else ``"any"``. Resolved to a
            ``frozenset`` of lower-case codes or ``"any"``; see :meth:`supports_language`.
        time_unit: the unit of word times in the legacy answers (``"s"`` or ``"ms"``; legacy mode
            only). ``None``: milliseconds on the Zoom Media routes, seconds in the Batch V1 result
            (see :meth:`time_unit_for`). The V3 routes of the V3 mode always answer seconds.
        allow_insecure_webhooks: legacy mode only: accept webhook/callback URLs V1 refused (not
            HTTPS, ``localhost``, an IP address), for a receiver on this machine. Without it the
            legacy routes refuse them (422) as the shim does; the V3 routes accept them either way
            (and log a warning).
    """

    processing_delay: float = DEFAULT_PROCESSING_DELAY
    webhook_speed: float = 1.0
    webhook_timeout: float = DEFAULT_WEBHOOK_TIMEOUT
    v1: bool = False
    max_size: int = DEFAULT_MAX_SIZE
    upload_expiry: float = DEFAULT_UPLOAD_EXPIRY
    transcripts: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    storage_dir: Path | None = None
    tokens: Allowed = field(default=None, repr=False)
    languages: Allowed = None
    time_unit: TimeUnit | None = None
    allow_insecure_webhooks: bool = False

    def __post_init__(self) -> None:
        _finite("processing_delay", self.processing_delay)
        _finite("upload_expiry", self.upload_expiry)
        if _finite("webhook_speed", self.webhook_speed) <= 0:
            raise ValueError("webhook_speed must be > 0")
        if _finite("webhook_timeout", self.webhook_timeout) <= 0:
            raise ValueError("webhook_timeout must be > 0")
        if isinstance(self.max_size, bool) or not isinstance(self.max_size, int) or self.max_size < 0:
            raise ValueError(f"max_size must be a whole number of bytes >= 0, not {self.max_size!r}")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in self.transcripts.items()):
            raise ValueError("transcripts must map file names (str) to transcript text (str)")
        object.__setattr__(self, "transcripts", MappingProxyType(dict(self.transcripts)))
        if self.storage_dir is not None:
            object.__setattr__(self, "storage_dir", Path(self.storage_dir))
        tokens = _allowed("tokens", self.tokens, DEFAULT_V1_TOKENS if self.v1 else ANY, _TOKEN)
        object.__setattr__(self, "tokens", tokens)
        languages = _allowed("languages", self.languages, DEFAULT_LANGUAGES if self.v1 else ANY, _LANGUAGE)
        if languages != ANY:
            languages = frozenset(code.lower().replace("_", "-") for code in languages)
        object.__setattr__(self, "languages", languages)
        if self.time_unit is not None:
            check_time_unit(self.time_unit)
            if not self.v1:
                raise ValueError("time_unit applies to the legacy answers: give v1=True (--v1) with it")

    @property
    def public_webhooks_only(self) -> bool:
        """Whether a create must name a webhook V1 would call: legacy mode without :attr:`allow_insecure_webhooks`."""
        return self.v1 and not self.allow_insecure_webhooks

    def time_unit_for(self, generation: Literal["batch_v1", "zoommedia"]) -> TimeUnit:
        """The unit of word times in a legacy answer: :attr:`time_unit`, else the generation's default
        (Zoom Media: ``"ms"``, what its clients read; Batch V1: ``"s"``, its result example's unit)."""
        if self.time_unit is not None:
            return self.time_unit
        return "ms" if generation == "zoommedia" else "s"

    def accepts_token(self, token: str) -> bool:
        """Whether ``token`` is a valid token here."""
        return self.tokens == ANY or (self.tokens is not None and token in self.tokens)

    def supports_language(self, language: str) -> bool:
        """Whether ``language`` is supported: listed (any case, ``-`` or ``_``), or its base language is."""
        if self.languages == ANY or self.languages is None:
            return True
        code = language.strip().lower().replace("_", "-")
        return code in self.languages or code.split("-", 1)[0] in self.languages

    def webhook_offsets(self) -> tuple[float, ...]:
        """Seconds after completion of each webhook attempt, compressed by ``webhook_speed``."""
        return tuple(minutes * 60.0 / self.webhook_speed for minutes in WEBHOOK_SCHEDULE)


def _allowed(
    name: str, value: object, default: Collection[str] | str, pattern: re.Pattern[str]
) -> frozenset[str] | str:
    """``"any"`` or a frozenset of checked strings; ``None`` is ``default``. Never echoes a token."""
    if value is None:
        value = default
    if value == ANY:
        return ANY
    shown = "" if name == "tokens" else f", not {value!r}"
    if isinstance(value, str | bytes) or not isinstance(value, Collection):
        raise ValueError(f"{name} must be a list of strings or {ANY!r}{shown}")
    for item in value:
        if not isinstance(item, str) or not pattern.fullmatch(item):
            shown = "" if name == "tokens" else f": {item!r}"
            raise ValueError(f"{name} must be printable strings without spaces{shown}")
    return frozenset(value)
