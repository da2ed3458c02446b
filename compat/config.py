"""One place that resolves every option: keyword argument, then environment, then default.

>>> settings = Settings.resolve(timeout=30)
>>> settings.timeout
30.0

A value that cannot be used raises :class:`compat.ConfigurationError` at once, naming the option
and where the value came from (the keyword or the environment variable).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, NamedTuple
from urllib.parse import urlsplit

import platformdirs
from pydantic import BaseModel, ConfigDict, PrivateAttr, SecretStr

from compat.errors import ConfigurationError

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_CLAIM_LEASE",
    "MEMORY_STORE",
    "OptionCheck",
    "Settings",
    "check_options",
    "default_store_path",
]

DEFAULT_BASE_URL = "https://api.scriptix.io"
MEMORY_STORE = ":memory:"
"""Pass as ``store`` to keep resume state in memory only (nothing survives the process)."""
DEFAULT_CLAIM_LEASE = 30.0
"""Seconds a session's upload claim lasts unless its holder renews it (see ``claim_lease``)."""

AuthScheme = Literal["x-zoom-s2t-key", "bearer"]

# option name -> environment variable
ENVIRONMENT: dict[str, str] = {
    "api_key": "SCRIPTIX_API_KEY",
    "base_url": "SCRIPTIX_BASE_URL",
    "timeout": "SCRIPTIX_COMPAT_TIMEOUT",
    "max_retries": "SCRIPTIX_COMPAT_MAX_RETRIES",
    "chunk_size": "SCRIPTIX_COMPAT_CHUNK_SIZE",
    "store": "SCRIPTIX_COMPAT_STORE",
    "claim_lease": "SCRIPTIX_COMPAT_CLAIM_LEASE",
}

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1024,
    "m": 1000**2,
    "mb": 1000**2,
    "mib": 1024**2,
    "g": 1000**3,
    "gb": 1000**3,
    "gib": 1024**3,
}
_SIZE_PATTERN = re.compile(r"^\s*(\d+)\s*([a-zA-Z]*)\s*$")


def default_store_path() -> Path:
    """Where resume state lives when no ``store`` is given: the user's cache directory."""
    return Path(platformdirs.user_cache_dir("scriptix-compat")) / "state.sqlite3"


class Settings(BaseModel):
    """Every option of a client, resolved and checked. Build it with :meth:`resolve`.

    Attributes:
        api_key: the Scriptix token (kept as a ``SecretStr``; never printed).
        base_url: the Scriptix host, ``https://api.scriptix.io`` by default.
        timeout: read timeout in seconds for every request (a stalled server is given up on after it).
        connect_timeout: seconds allowed to open a connection.
        max_retries: retries after the first attempt, per request and per upload chunk without progress.
        chunk_size: bytes per TUS ``PATCH``; memory use does not grow with it (bodies are streamed).
        store: path of the SQLite file that keeps resume state, or ``":memory:"``.
        auth_scheme: ``"x-zoom-s2t-key"`` (the documented batch header) or ``"bearer"``.
        backoff_base: first retry delay in seconds; doubles each retry, with full jitter.
        backoff_max: the cap on one retry delay.
        max_retry_after: the longest ``Retry-After`` honoured; a longer hint is raised as an error.
        session_poll_timeout: how long ``upload`` waits for the server to name the session.
        claim_lease: seconds the claim on a session's upload lasts in the store unless renewed; the
            holder renews it every third of that while it lives, so only a process that died (or
            froze) for longer loses it, and then another caller of the same token takes it over.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    _sources: dict[str, str] = PrivateAttr(default_factory=dict)

    api_key: SecretStr | None = None
    base_url: str = DEFAULT_BASE_URL
    timeout: float = 60.0
    connect_timeout: float = 10.0
    max_retries: int = 5
    chunk_size: int = 50 * 1024 * 1024
    store: str = ""
    auth_scheme: AuthScheme = "x-zoom-s2t-key"
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    max_retry_after: float = 120.0
    session_poll_timeout: float = 10.0
    claim_lease: float = DEFAULT_CLAIM_LEASE

    @classmethod
    def resolve(cls, environ: Mapping[str, str] | None = None, **options: Any) -> Settings:
        """Resolve options: a keyword that is not ``None`` wins, then the environment, then the default."""
        env = os.environ if environ is None else environ
        unknown = sorted(set(options) - set(cls.model_fields))
        if unknown:
            raise ConfigurationError(
                f"unknown option {unknown[0]!r}; known options: {', '.join(sorted(cls.model_fields))}",
                option=unknown[0],
            )
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for name in cls.model_fields:
            raw, source = _raw_value(name, options, env)
            sources[name] = source
            if raw is not None:
                values[name] = _check(name, raw, source)
        if "store" not in values:
            values["store"] = str(default_store_path())
        settings = cls(**values)
        settings._sources = sources
        return settings

    def sources(self) -> dict[str, str]:
        """Where each option's value came from: ``keyword name=``, ``environment variable …`` or ``default``."""
        return dict(self._sources) or dict.fromkeys(type(self).model_fields, "default")

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={'<redacted>' if name == 'api_key' and value is not None else repr(value)}" for name, value in self
        )
        return f"Settings({shown})"

    __str__ = __repr__

    def token(self) -> str | None:
        """The API token in clear, for the transport only."""
        return self.api_key.get_secret_value() if self.api_key is not None else None

    @property
    def tus_endpoint(self) -> str:
        """The TUS creation URL (with the trailing slash every Scriptix example uses)."""
        return f"{self.base_url}/api/v3/files/"

    @property
    def session_endpoint(self) -> str:
        """The speech-to-text session collection URL."""
        return f"{self.base_url}/api/v3/speech-to-text/session"


class OptionCheck(NamedTuple):
    """One option as :func:`check_options` found it: its value (``api_key`` hidden), source and problem."""

    option: str
    value: Any
    source: str
    problem: str | None


def check_options(environ: Mapping[str, str] | None = None, **options: Any) -> list[OptionCheck]:
    """Every option with its source, each checked on its own: one bad value does not hide the others.

    ``value`` is the checked value (the raw one when it is bad); the token is shown as ``"set"``,
    ``"not set"`` or ``"<redacted>"``. ``problem`` is the message :meth:`Settings.resolve` would
    raise for that option, or ``None``.
    """
    env = os.environ if environ is None else environ
    checks = []
    for name in Settings.model_fields:
        raw, source = _raw_value(name, options, env)
        problem = None
        value: Any = getattr(Settings.model_fields[name], "default", None)
        if name == "store" and raw is None:
            value = str(default_store_path())
        if raw is not None:
            try:
                value = _check(name, raw, source)
            except ConfigurationError as exc:
                problem, value = str(exc), _shown(name, raw)
        if name == "api_key":
            value = "<redacted>" if problem else ("set" if raw is not None else "not set")
        checks.append(OptionCheck(name, value, source, problem))
    return checks


def _raw_value(name: str, options: Mapping[str, Any], env: Mapping[str, str]) -> tuple[Any, str]:
    """An option's raw value and where it came from: the keyword, else the environment, else default."""
    if options.get(name) is not None:
        return options[name], f"keyword {name}="
    if name in ENVIRONMENT and env.get(ENVIRONMENT[name], "") != "":
        return env[ENVIRONMENT[name]], f"environment variable {ENVIRONMENT[name]}"
    return None, "default"


def _shown(name: str, raw: Any) -> Any:
    """A raw option value safe to print: no token, no credentials in a URL."""
    if name == "api_key":
        return "<redacted>"
    if name == "base_url" and isinstance(raw, str) and "@" in raw:
        return re.sub(r"//[^/@]*@", "//<redacted>@", raw)
    return raw


def _fail(name: str, source: str, raw: Any, expected: str) -> ConfigurationError:
    shown = "<redacted>" if name == "api_key" else repr(_shown(name, raw))
    return ConfigurationError(f"option {name!r} from {source}: {shown} is not {expected}", option=name)


def _number(name: str, raw: Any, source: str, *, integer: bool) -> float:
    if isinstance(raw, bool):
        raise _fail(name, source, raw, "a number")
    try:
        value = int(raw) if integer else float(raw)
    except (TypeError, ValueError):
        raise _fail(name, source, raw, "a whole number" if integer else "a number") from None
    if integer and isinstance(raw, float) and raw != value:
        raise _fail(name, source, raw, "a whole number")
    if value != value or value in (float("inf"), float("-inf")):
        raise _fail(name, source, raw, "a finite number")
    return value


def _size(name: str, raw: Any, source: str) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    match = _SIZE_PATTERN.fullmatch(str(raw))
    if match is None or match.group(2).lower() not in _SIZE_UNITS:
        raise _fail(name, source, raw, "a size in bytes (e.g. 52428800, 8MiB, 50MB)")
    return int(match.group(1)) * _SIZE_UNITS[match.group(2).lower()]


def _check(name: str, raw: Any, source: str) -> Any:
    if name == "api_key":
        if not isinstance(raw, str | SecretStr):
            raise _fail(name, source, raw, "a string")
        text = raw.get_secret_value() if isinstance(raw, SecretStr) else raw
        if not text.strip() or not text.isascii() or any(c in text for c in "\r\n\0"):
            raise _fail(name, source, raw, "a non-empty ASCII token on one line")
        return SecretStr(text.strip())
    if name == "base_url":
        text = str(raw).strip().rstrip("/")
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _fail(name, source, raw, "an http(s) URL such as https://api.scriptix.io")
        if parts.query or parts.fragment or parts.username or parts.password:
            raise _fail(name, source, raw, "a plain URL (no query, fragment or credentials)")
        return text
    if name in ("timeout", "connect_timeout", "backoff_max", "session_poll_timeout", "claim_lease"):
        value = _number(name, raw, source, integer=False)
        if value <= 0:
            raise _fail(name, source, raw, "a positive number of seconds")
        return value
    if name in ("backoff_base", "max_retry_after"):
        value = _number(name, raw, source, integer=False)
        if value < 0:
            raise _fail(name, source, raw, "zero or a positive number of seconds")
        return value
    if name == "max_retries":
        value = _number(name, raw, source, integer=True)
        if not 0 <= value <= 100:
            raise _fail(name, source, raw, "a whole number from 0 to 100")
        return int(value)
    if name == "chunk_size":
        size = _size(name, raw, source)
        if size < 1:
            raise _fail(name, source, raw, "at least 1 byte")
        return size
    if name == "store":
        text = os.fspath(raw) if isinstance(raw, str | os.PathLike) else ""
        if not text:
            raise _fail(name, source, raw, "a file path or ':memory:'")
        return str(text)
    if name == "auth_scheme":
        text = str(raw).strip().lower()
        if text not in ("x-zoom-s2t-key", "bearer"):
            raise _fail(name, source, raw, "'x-zoom-s2t-key' or 'bearer'")
        return text
    return raw
