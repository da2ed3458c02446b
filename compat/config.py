"""Where every option is declared and resolved: keyword argument, then environment, then default.

>>> settings = Settings.resolve(timeout=30)
>>> settings.timeout
30.0

Each option is one pydantic field: its type and constraints check the value, its description is its
documentation (and the gateway's ``--help``), and ``env`` in its ``json_schema_extra`` names the
environment variable it is read from, if any. :class:`Settings` holds the options of the V3
transport; :class:`compat.options.Options` adds the translator's, and is what every adoption surface
takes. :class:`StagingSettings` declares the staging toolkit's variables (``SCRIPTIX_COMPAT_WARN``,
``…_REPORT``, ``…_STRICT``): every ``SCRIPTIX_*`` variable the library reads is declared here.

A value that cannot be used raises :class:`compat.ConfigurationError` at once, naming the option
and where the value came from (the keyword or the environment variable); a token is never shown.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, NamedTuple, TypeVar
from urllib.parse import urlsplit

import platformdirs
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, SecretStr, ValidationError
from pydantic_core import PydanticCustomError
from typing_extensions import TypedDict

from compat.errors import ConfigurationError
from compat.redact import redact_url_password

if TYPE_CHECKING:
    from compat.store import Store

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_CLAIM_LEASE",
    "ENVIRONMENT",
    "MEMORY_STORE",
    "OptionCheck",
    "Settings",
    "StagingSettings",
    "TransportOverrides",
    "check_options",
    "default_store_path",
    "option",
    "parse_size",
    "take_store_object",
]

DEFAULT_BASE_URL = "https://api.scriptix.io"
MEMORY_STORE = ":memory:"
"""Pass as ``store`` to keep resume state in memory only (nothing survives the process)."""
DEFAULT_CLAIM_LEASE = 30.0
"""Seconds a session's upload claim lasts unless its holder renews it (see ``claim_lease``)."""

AuthScheme = Literal["x-zoom-s2t-key", "bearer"]
WarnMode = Literal["once", "always", "off"]

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


# value checks (run by pydantic before the field's own type and constraints) --------------------


def _refused(expected: str) -> PydanticCustomError:
    return PydanticCustomError("option", expected)


def _number(raw: Any) -> Any:
    if isinstance(raw, bool):
        raise _refused("expected a number, not True or False")
    return raw


def _size(raw: Any) -> Any:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    match = _SIZE_PATTERN.fullmatch(raw) if isinstance(raw, str) else None
    if match is None or match.group(2).lower() not in _SIZE_UNITS:
        raise _refused("expected a size in bytes such as 52428800, 8MiB or 50MB")
    return int(match.group(1)) * _SIZE_UNITS[match.group(2).lower()]


def _token(raw: Any) -> Any:
    if raw is None:
        return None
    if not isinstance(raw, str | SecretStr):
        raise _refused("expected a string")
    text = raw.get_secret_value() if isinstance(raw, SecretStr) else raw
    if not text.strip() or not text.isascii() or any(c in text for c in "\r\n\0"):
        raise _refused("expected a non-empty ASCII token on one line")
    return SecretStr(text.strip())


def _base_url(raw: Any) -> Any:
    text = str(raw).strip().rstrip("/")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 (a bad port raises here)
    except ValueError:
        raise _refused("expected an http(s) URL such as https://api.scriptix.io") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _refused("expected an http(s) URL such as https://api.scriptix.io")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise _refused("expected a plain URL (no query, fragment or credentials)")
    return text


def _store(raw: Any) -> Any:
    text = os.fspath(raw) if isinstance(raw, str | os.PathLike) else ""
    if not text:
        raise _refused("expected a file path, ':memory:' or a postgresql:// URL")
    return str(text)


def _lower(raw: Any) -> Any:
    return raw.strip().lower() if isinstance(raw, str) else raw


def _warn_mode(raw: Any) -> Any:
    mode = str(raw).strip().lower() or "once"
    return mode if mode in ("once", "always", "off") else "once"  # a typo never breaks a legacy call


def _stripped(raw: Any) -> Any:
    return str(raw).strip()


Seconds = Annotated[float, BeforeValidator(_number), Field(gt=0, allow_inf_nan=False)]
"""A positive, finite number of seconds."""
SecondsOrZero = Annotated[float, BeforeValidator(_number), Field(ge=0, allow_inf_nan=False)]
"""Zero or a positive, finite number of seconds."""
Size = Annotated[int, BeforeValidator(_size), Field(ge=1)]
"""A number of bytes, at least 1: an int, or a string such as ``"52428800"``, ``"8MiB"``, ``"50MB"``."""


def parse_size(raw: Any, *, option: str, source: str) -> int:
    """``raw`` as a number of bytes (``8MiB``, ``50MB``, ``1024``…), or a :class:`ConfigurationError`."""
    try:
        return int(_size(raw))
    except PydanticCustomError as exc:
        problem = exc.message()
    raise _failure(option, source, raw, problem)


def option(default: Any = ..., description: str = "", *, env: str | None = None, **field: Any) -> Any:
    """A field of an options model: its default, its documentation and its environment variable."""
    extra: dict[str, Any] | None = {"env": env} if env else None
    if default is ...:
        return Field(description=description, json_schema_extra=extra, **field)
    return Field(default, description=description, json_schema_extra=extra, **field)


# resolution ------------------------------------------------------------------------------------

_Model = TypeVar("_Model", bound="_Resolved")


class _Resolved(BaseModel):
    """A frozen set of options resolved as keyword, then environment variable, then default."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    _sources: dict[str, str] = PrivateAttr(default_factory=dict)

    @classmethod
    def environment(cls) -> dict[str, str]:
        """Option name -> the environment variable it is read from (for the options that have one)."""
        return dict(_environment_of(cls))

    @classmethod
    def resolve(cls: type[_Model], environ: Mapping[str, str] | None = None, **options: Any) -> _Model:
        """Resolve options: a keyword that is not ``None`` wins, then the environment, then the default."""
        cls._refuse_unknown(options)
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for name in cls.model_fields:
            raw, sources[name] = cls.given(name, options, env)
            if raw is not None:
                values[name] = raw
        return cls._checked(values, sources)

    @classmethod
    def given(cls, name: str, options: Mapping[str, Any], environ: Mapping[str, str]) -> tuple[Any, str]:
        """One option's raw value and where it came from: the keyword when not ``None``, else its
        environment variable when set and not empty, else ``(None, "default")``."""
        variable = _environment_of(cls).get(name)
        if options.get(name) is not None:
            return options[name], f"keyword {name}="
        if variable is not None and environ.get(variable, "") != "":
            return environ[variable], f"environment variable {variable}"
        return None, "default"

    def updated(self: _Model, **overrides: Any) -> _Model:
        """These options with ``overrides`` on top (each checked; one that is ``None`` changes nothing)."""
        self._refuse_unknown(overrides)
        given = {name: value for name, value in overrides.items() if value is not None}
        if not given:
            return self
        sources = {**self.sources(), **{name: f"keyword {name}=" for name in given}}
        return self._checked({**dict(self), **given}, sources)

    @classmethod
    def check(cls, name: str, raw: Any, source: str) -> Any:
        """One option's value, checked on its own (``source`` says where it came from, for the error)."""
        cls._refuse_unknown({name: raw})
        return getattr(cls._checked({name: raw}, {name: source}), name)

    def sources(self) -> dict[str, str]:
        """Where each option's value came from: ``keyword name=``, ``environment variable …`` or ``default``."""
        return dict(self._sources) or dict.fromkeys(type(self).model_fields, "default")

    @classmethod
    def _refuse_unknown(cls, options: Mapping[str, Any]) -> None:
        unknown = sorted(set(options) - set(cls.model_fields))
        if unknown:
            raise ConfigurationError(
                f"unknown option {unknown[0]!r}; known options: {', '.join(sorted(cls.model_fields))}",
                option=unknown[0],
            )

    @classmethod
    def _checked(cls: type[_Model], values: dict[str, Any], sources: dict[str, str]) -> _Model:
        try:
            resolved = cls.model_validate(values)
        except ValidationError as exc:
            failure = cls._first_failure(exc, values, sources)
        else:
            resolved._sources = sources
            return resolved
        raise failure  # outside the except block: the pydantic error (which holds the raw value) is not chained

    @classmethod
    def _first_failure(
        cls, exc: ValidationError, values: Mapping[str, Any], sources: Mapping[str, str]
    ) -> ConfigurationError:
        order = list(cls.model_fields)
        errors = sorted(exc.errors(), key=lambda e: order.index(str(e["loc"][0])) if e["loc"] else len(order))
        name = str(errors[0]["loc"][0]) if errors[0]["loc"] else order[0]
        return _failure(name, sources.get(name, f"keyword {name}="), values.get(name), errors[0]["msg"])

    def __eq__(self, other: object) -> bool:
        """Equal options are equal values, wherever each value came from."""
        return type(self) is type(other) and dict(self) == dict(other)

    def __hash__(self) -> int:
        return hash((type(self), tuple(dict(self).values())))

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={'<redacted>' if isinstance(value, SecretStr) else repr(_shown(value))}" for name, value in self
        )
        return f"{type(self).__name__}({shown})"

    __str__ = __repr__


@functools.cache
def _environment_of(model: type[_Resolved]) -> Mapping[str, str]:
    names: dict[str, str] = {}
    for name, field in model.model_fields.items():
        extra = field.json_schema_extra
        if isinstance(extra, dict) and isinstance(extra.get("env"), str):
            names[name] = str(extra["env"])
    return names


def _printable(name: str, raw: Any) -> Any:
    """A raw option value safe to print: no token, no credentials in a URL."""
    if name == "api_key" or isinstance(raw, SecretStr):
        return "<redacted>"
    if isinstance(raw, str) and "@" in raw:
        return re.sub(r"//[^/@]*@", "//<redacted>@", raw)
    return raw


def _shown(value: Any) -> Any:
    """A checked option value safe to print: a store URL's password replaced."""
    return redact_url_password(value) if isinstance(value, str) else value


def _failure(name: str, source: str, raw: Any, problem: str) -> ConfigurationError:
    shown = _printable(name, raw)
    shown = shown if shown == "<redacted>" else repr(shown)
    problem = problem[:1].lower() + problem[1:]
    return ConfigurationError(f"option {name!r} from {source}: {shown} refused: {problem}", option=name)


# the transport's options ----------------------------------------------------------------------


class Settings(_Resolved):
    """The options of the V3 transport (:class:`compat.V3Client`), resolved and checked.

    Build it with :meth:`resolve` (keyword, then environment, then default); each field's
    description says what it does. :class:`compat.Options` is these plus the translator's options,
    and is what ``LegacyClient``, ``install()``, ``mount()`` and the gateway take.
    """

    api_key: Annotated[SecretStr | None, BeforeValidator(_token)] = option(
        None, "the Scriptix batch token (kept as a SecretStr; never printed)", env="SCRIPTIX_API_KEY"
    )
    base_url: Annotated[str, BeforeValidator(_base_url)] = option(
        DEFAULT_BASE_URL, "the Scriptix host", env="SCRIPTIX_BASE_URL"
    )
    timeout: Seconds = option(
        60.0,
        "read timeout in seconds for every request (a stalled server is given up on after it)",
        env="SCRIPTIX_COMPAT_TIMEOUT",
    )
    connect_timeout: Seconds = option(10.0, "seconds allowed to open a connection")
    max_retries: Annotated[int, BeforeValidator(_number), Field(ge=0, le=100)] = option(
        5,
        "retries after the first attempt, per request and per upload chunk without progress",
        env="SCRIPTIX_COMPAT_MAX_RETRIES",
    )
    chunk_size: Size = option(
        50 * 1024 * 1024,
        "bytes per TUS PATCH (8MiB, 50MB or a number); memory use does not grow with it",
        env="SCRIPTIX_COMPAT_CHUNK_SIZE",
    )
    store: Annotated[str, BeforeValidator(_store)] = option(
        description="where state is kept: a SQLite file path, ':memory:' to keep none, or a postgresql:// URL "
        "(one database a fleet shares; needs scriptix-compat[postgres])",
        env="SCRIPTIX_COMPAT_STORE",
        default_factory=lambda: str(default_store_path()),
    )
    auth_scheme: Annotated[AuthScheme, BeforeValidator(_lower)] = option(
        "x-zoom-s2t-key", "how the token is sent: x-zoom-s2t-key (the documented header) or bearer"
    )
    backoff_base: SecondsOrZero = option(0.5, "first retry delay in seconds; doubles each retry, with full jitter")
    backoff_max: Seconds = option(30.0, "the cap on one retry delay, in seconds")
    max_retry_after: SecondsOrZero = option(
        120.0, "the longest Retry-After honoured, in seconds; a longer hint is raised as RateLimitError"
    )
    session_poll_timeout: Seconds = option(10.0, "how long upload waits for the server to name the session")
    claim_lease: Seconds = option(
        DEFAULT_CLAIM_LEASE,
        "seconds a session's upload claim lasts in the store unless renewed (every third of it while the "
        "holder lives): only a process that died or froze for longer loses it to another caller",
        env="SCRIPTIX_COMPAT_CLAIM_LEASE",
    )

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


class TransportOverrides(TypedDict, total=False):
    """The keywords of :class:`Settings` a surface takes beside ``api_key`` and ``base_url``.

    Its keys are the fields of :class:`Settings` less those two (a test checks it): the static type
    of ``**overrides``. ``store`` may also be an open store object (used as it is).
    """

    timeout: float | None
    connect_timeout: float | None
    max_retries: int | None
    chunk_size: int | str | None
    store: str | os.PathLike[str] | Store | None
    auth_scheme: AuthScheme | None
    backoff_base: float | None
    backoff_max: float | None
    max_retry_after: float | None
    session_poll_timeout: float | None
    claim_lease: float | None


def take_store_object(overrides: dict[str, Any]) -> Any | None:
    """Remove and return ``store`` from ``overrides`` when it is an open store rather than a path or URL."""
    store = overrides.get("store")
    if store is None or isinstance(store, str | os.PathLike):
        return None
    return overrides.pop("store")


ENVIRONMENT: dict[str, str] = Settings.environment()
"""Option name -> environment variable, for the transport's options."""


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
    defaults = Settings()
    checks = []
    for name in Settings.model_fields:
        raw, source = Settings.given(name, options, env)
        problem = None
        value: Any = getattr(defaults, name)
        if raw is not None:
            try:
                value = Settings.check(name, raw, source)
            except ConfigurationError as exc:
                problem, value = str(exc), _printable(name, raw)
        if name == "api_key":
            value = "<redacted>" if problem else ("set" if raw is not None else "not set")
        checks.append(OptionCheck(name, _shown(value), source, problem))
    return checks


# the staging toolkit's variables ---------------------------------------------------------------


class StagingSettings(_Resolved):
    """The staging toolkit's switches, read from the environment at each legacy call."""

    warn: Annotated[WarnMode, BeforeValidator(_warn_mode)] = option(
        "once",
        "LegacyV1Warning: once per call site, always, or off (anything else counts as once)",
        env="SCRIPTIX_COMPAT_WARN",
    )
    report: Annotated[str, BeforeValidator(_stripped)] = option(
        "", "write the legacy-usage report to this JSON file (empty: no report)", env="SCRIPTIX_COMPAT_REPORT"
    )
    strict: Annotated[str, BeforeValidator(_stripped)] = option(
        "",
        "fail legacy calls not in this baseline (a usage report; empty: strict mode off)",
        env="SCRIPTIX_COMPAT_STRICT",
    )
