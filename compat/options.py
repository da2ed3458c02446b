"""One frozen options object for every adoption surface: add an option here, once.

:class:`Options` is :class:`compat.Settings` (the V3 transport's options) plus the translator's.
``LegacyClient``, ``install()``, ``mount()``, ``make_app()``, ``serve()``, ``GatewayServer`` and the
gateway command all take ``options=`` (an :class:`Options`, resolved once) and keyword overrides on
top of it; without ``options=`` the keywords resolve as everywhere: keyword, then environment
variable, then default (:meth:`Options.resolve`).

>>> options = Options.resolve(timeout=30, media_source_mode="background")
>>> client = LegacyClient(api_key="...", options=options, max_retries=2)   # doctest: +SKIP

Adding an option: a field on :class:`Options` (or on :class:`~compat.config.Settings` when the
transport reads it) and its key in :class:`OptionOverrides` (or
:class:`~compat.config.TransportOverrides`), the static type of the surfaces' ``**overrides``;
the tests check that every surface, the gateway's flags and README's options table follow.
"""

from __future__ import annotations

import argparse
from collections.abc import Collection, Mapping
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import Field

from compat.config import Settings, Size, TransportOverrides, option, take_store_object
from compat.errors import ConfigurationError
from compat.formats import TimeUnit
from compat.v1.validation import UnknownFields

__all__ = [
    "DEFAULT_MAX_MEDIA_BYTES",
    "AccessLogFormat",
    "AlignStrategy",
    "InterceptOverrides",
    "MediaSourceMode",
    "OptionOverrides",
    "Options",
    "add_option_arguments",
    "option_arguments",
    "resolve_options",
]

MediaSourceMode = Literal["sync", "background"]
AlignStrategy = Literal["tus", "passthrough"]
AccessLogFormat = Literal["text", "json"]
DEFAULT_MAX_MEDIA_BYTES = 10 * 1000**3  # the 10 GB limit of Scriptix's own upload widget


class Options(Settings):
    """Every option shared by the adoption surfaces: the transport's (:class:`compat.Settings`) and the
    translator's. Frozen; equal options are equal values. Build it with :meth:`resolve`."""

    allow_private_media: bool = option(
        False, "let media_source URLs point at private, loopback or link-local addresses (tests only)"
    )
    media_source_mode: MediaSourceMode = option(
        "sync",
        "sync: a create with media_source answers once the media is uploaded (status uploaded); "
        "background: it answers at once (status uploading)",
    )
    align_strategy: AlignStrategy = option(
        "tus",
        "tus: /align sends media and transcript as TUS uploads bound to the session; passthrough: the V1 "
        "multipart call, unchanged",
    )
    unknown_fields: UnknownFields = option(
        "forward", "forward: create fields V1 does not know are passed to V3; reject: they are a 422"
    )
    document_type: Annotated[str, Field(min_length=1)] = option(
        "caption", "the TUS document_type when the V1 call does not name one"
    )
    max_media_bytes: Size = option(
        DEFAULT_MAX_MEDIA_BYTES,
        "the largest media_source download accepted (10GB, 500MiB or a number); also the most of a chunked"
        " PUT spooled when the upstream takes no deferred length",
    )
    allow_insecure_webhooks: bool = option(
        False, "accept webhook_url values V1 refused (plain http, localhost, IP addresses), for local tests"
    )
    time_unit: TimeUnit | None = option(
        None,
        "the unit of word times in legacy answers, s or ms (default: each generation's own: ms on the Zoom "
        "Media routes, s in the Batch V1 result)",
    )

    access_log: AccessLogFormat = option(
        "text",
        "the gateway's access log (logger compat.gateway.access), one line per request: text, or json (one JSON"
        " object a line: time, method, operation, status, duration, bytes in and out, client; never a token,"
        " a query string or an option value); the other surfaces serve no HTTP and ignore it",
        env="SCRIPTIX_COMPAT_ACCESS_LOG",
    )

    def time_unit_for(self, generation: Literal["batch_v1", "zoommedia"]) -> TimeUnit:
        """The unit of word times in a legacy answer: :attr:`time_unit`, else the generation's default
        (Zoom Media API v1/v2: ``"ms"``, what its clients read; Batch V1: ``"s"``, its result example's
        unit and what V3 gives). See MIGRATION.md, "Word times"."""
        if self.time_unit is not None:
            return self.time_unit
        return "ms" if generation == "zoommedia" else "s"

    @classmethod
    def of(cls, settings: Settings) -> Options:
        """``settings`` as :class:`Options` (the translator's options at their defaults, if it had none)."""
        if isinstance(settings, Options):
            return settings
        sources = {**dict.fromkeys(cls.model_fields, "default"), **settings.sources()}
        return cls._checked(dict(settings), sources)


class OptionOverrides(TransportOverrides, total=False):
    """The static type of a surface's ``**overrides``: every field of :class:`Options` but ``api_key``
    and ``base_url`` (which the surfaces name themselves). A test checks the keys against the fields."""

    allow_private_media: bool | None
    media_source_mode: MediaSourceMode | None
    align_strategy: AlignStrategy | None
    unknown_fields: UnknownFields | None
    document_type: str | None
    max_media_bytes: int | str | None
    allow_insecure_webhooks: bool | None
    time_unit: TimeUnit | None
    access_log: AccessLogFormat | None


class InterceptOverrides(OptionOverrides, total=False):
    """``install()`` and ``mount()`` take ``base_url`` too (the shim's upstream); never ``api_key``."""

    base_url: str | None


def resolve_options(
    options: Settings | None,
    overrides: Mapping[str, object],
    *,
    no_token: str | None = None,
) -> tuple[Options, Any | None]:
    """What a surface runs with: ``options`` (default: resolved from the environment) with
    ``overrides`` on top, checked once; and the open store passed as ``store=``, if one was.

    ``no_token``: the surface takes no ``api_key`` keyword; this is why (the error says it).
    """
    values: dict[str, Any] = dict(overrides)
    if no_token is not None and "api_key" in values:
        raise ConfigurationError(no_token, option="api_key")
    store = take_store_object(values)
    if options is None:
        return Options.resolve(**values), store
    return Options.of(options).updated(**values), store


# the command line ------------------------------------------------------------------------------


def add_option_arguments(
    parser: argparse.ArgumentParser, *, skip: Collection[str] = (), required: Collection[str] = ()
) -> None:
    """One ``--kebab-name`` flag per field of :class:`Options` (but ``skip``): type, choices and help
    from the field. A flag not given stays ``None``, so the option resolves as any other."""
    group = parser.add_argument_group(
        "options (compat.Options): the flag, else its environment variable, else the default"
    )
    environment = Options.environment()
    for name, field in Options.model_fields.items():
        if name in skip:
            continue
        flag = "--" + name.replace("_", "-")
        notes = [] if name in required or field.default_factory is not None else [f"default {field.default}"]
        if name in environment and name not in required:
            notes.append(f"${environment[name]}")
        text = "; ".join([str(field.description), *notes]).replace("%", "%%")
        if field.annotation is bool:
            group.add_argument(flag, dest=name, action="store_true", default=None, help=text)
            continue
        spelling: dict[str, Any] = {"type": _argument_type(name)}
        choices = _choices(field.annotation)
        if choices:
            spelling = {"choices": choices}
        group.add_argument(flag, dest=name, default=None, required=name in required, help=text, **spelling)


def option_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """The options given on the command line (flags made by :func:`add_option_arguments`)."""
    given = vars(args)
    return {name: given[name] for name in Options.model_fields if given.get(name) is not None}


def _choices(annotation: Any) -> tuple[Any, ...]:
    """The values of a ``Literal`` annotation (also inside ``Literal[...] | None``); empty otherwise."""
    if get_origin(annotation) is Literal:
        return get_args(annotation)
    literals = [arg for arg in get_args(annotation) if get_origin(arg) is Literal]
    return get_args(literals[0]) if len(literals) == 1 else ()


def _argument_type(name: str) -> Any:
    def check(raw: str) -> Any:
        try:
            return Options.check(name, raw, "the command line")
        except ConfigurationError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    check.__name__ = name
    return check
