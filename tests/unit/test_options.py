"""One options object (issue 11, item 1): every surface takes every option of ``compat.Options``.

``Options`` is declared once (compat/options.py on top of compat/config.py). These tests list the
options each surface takes (its keyword parameters plus the keys of the ``TypedDict`` its
``**overrides`` unpacks, or the gateway command's flags) and check them against the model's fields,
then give every surface every option and check that what it runs with is the one resolved object.
"""

from __future__ import annotations

import ast
import inspect
import re
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter

import compat
import compat.gateway
from compat import ConfigurationError, LegacyClient, Options, Settings, V3Client, install, mount
from compat.cli import build_parser, main
from compat.config import ENVIRONMENT, StagingSettings, TransportOverrides
from compat.gateway import GatewayServer, make_app, serve
from compat.gateway.server_options import ServerOverrides
from compat.options import InterceptOverrides, OptionOverrides

COMPAT = Path(compat.__file__).resolve().parent
README = COMPAT.parent / "README.md"
FIELDS = set(Options.model_fields)
UPSTREAM = "http://127.0.0.1:9"
TOKEN = "options-test-token"  # a word of its own: every token used is registered for redaction
ORIGINAL_SEND = vars(HTTPAdapter)["send"]

# A value other than the default for every option (a new option must be added here: see below).
SAMPLE: dict[str, Any] = {
    "api_key": TOKEN,
    "base_url": UPSTREAM,
    "timeout": 7,
    "connect_timeout": 3,
    "max_retries": 2,
    "chunk_size": "1MiB",
    "store": ":memory:",
    "auth_scheme": "bearer",
    "backoff_base": 0.01,
    "backoff_max": 2,
    "max_retry_after": 9,
    "session_poll_timeout": 4,
    "claim_lease": 6,
    "allow_private_media": True,
    "media_source_mode": "background",
    "align_strategy": "passthrough",
    "unknown_fields": "reject",
    "document_type": "subtitle",
    "max_media_bytes": "5MB",
    "allow_insecure_webhooks": True,
    "time_unit": "ms",
    "access_log": "json",
}
NO_TOKEN = {name: value for name, value in SAMPLE.items() if name != "api_key"}
NEITHER = {name: value for name, value in NO_TOKEN.items() if name != "base_url"}


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in {**ENVIRONMENT, **StagingSettings.environment()}.values():
        monkeypatch.delenv(variable, raising=False)


def expected(**values: Any) -> Options:
    return Options.resolve(environ={}, **values)


# what each surface declares ----------------------------------------------------------------------


def keywords(function: Callable[..., Any]) -> set[str]:
    """The keywords ``function`` takes: its named parameters and the keys of its ``**Unpack[TypedDict]``."""
    hints = typing.get_type_hints(function, include_extras=True)
    names: set[str] = set()
    for parameter in inspect.signature(function).parameters.values():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            (typed,) = typing.get_args(hints[parameter.name])
            names |= typed.__required_keys__ | typed.__optional_keys__
        elif parameter.kind is not inspect.Parameter.VAR_POSITIONAL and parameter.name != "self":
            names.add(parameter.name)
    return names


# The gateway server's own keywords (compat.gateway.server_options): processes, timeouts, limits.
SERVER_KEYWORDS = set(ServerOverrides.__optional_keys__)

# surface -> (what it takes, the options it must cover, its own keywords, renamed: its name -> option)
SURFACES: dict[str, tuple[Callable[..., Any], set[str], set[str], dict[str, str]]] = {
    "LegacyClient": (LegacyClient.__init__, FIELDS, {"options", "shadow_rate", "shadow_base_url"}, {}),
    "install()": (install, FIELDS - {"api_key"}, {"options", "legacy_base_url"}, {}),
    "mount()": (mount, FIELDS - {"api_key"}, {"options", "session", "legacy_base_url"}, {}),
    "make_app()": (make_app, FIELDS - {"api_key"}, {"options", "workers", "media_policy"}, {"upstream": "base_url"}),
    "serve()": (
        serve,
        FIELDS - {"api_key"},
        {"options", "host", "port", "on_ready", "server_options", *SERVER_KEYWORDS},
        {"upstream": "base_url"},
    ),
    "GatewayServer": (
        GatewayServer.__init__,
        FIELDS - {"api_key"},
        {"options", "host", "port", "server_options", *SERVER_KEYWORDS},
        {"upstream": "base_url"},
    ),
    "V3Client": (V3Client.__init__, set(Settings.model_fields), {"settings"}, {}),
}


@pytest.mark.parametrize("surface", list(SURFACES))
def test_each_surface_lists_exactly_the_options_of_the_one_object(surface: str) -> None:
    function, covered, own, renamed = SURFACES[surface]
    taken = keywords(function)
    assert own <= taken, f"{surface} lost its own keywords {own - taken}"
    options = {renamed.get(name, name) for name in taken - own}
    assert options == covered, f"{surface}: missing {covered - options}, extra {options - covered}"


GATEWAY_FLAGS = {
    "listen",
    "upstream",
    *(SERVER_KEYWORDS - {"min_rate_grace", "send_timeout", "max_request_body_size", "channel_timeout"}),
}


def test_the_gateway_command_has_a_flag_for_every_option() -> None:
    parsed = build_parser().parse_args(["gateway", "--listen", "127.0.0.1:0", "--upstream", UPSTREAM, "--store", "s"])
    flags = set(vars(parsed)) - {"command"}
    options = {"base_url" if name == "upstream" else name for name in flags - (GATEWAY_FLAGS - {"upstream"})}
    assert flags >= GATEWAY_FLAGS
    assert options == FIELDS - {"api_key"}  # the gateway holds no token


def test_the_overrides_typeddicts_have_the_models_fields() -> None:
    def keys(typed: Any) -> set[str]:
        return set(typed.__required_keys__ | typed.__optional_keys__)

    assert keys(TransportOverrides) == set(Settings.model_fields) - {"api_key", "base_url"}
    assert keys(OptionOverrides) == FIELDS - {"api_key", "base_url"}
    assert keys(InterceptOverrides) == FIELDS - {"api_key"}


def test_every_option_is_documented_by_its_field() -> None:
    for model in (Options, StagingSettings):
        for name, field in model.model_fields.items():
            assert field.description and len(field.description) > 10, f"{model.__name__}.{name} has no description"


def test_the_sample_gives_every_option_a_value_other_than_its_default() -> None:
    assert set(SAMPLE) == FIELDS  # a new option: give it a sample value, and every surface below is tried with it
    defaults = Options()
    resolved = expected(**SAMPLE)
    for name in FIELDS:
        assert getattr(resolved, name) != getattr(defaults, name), name


# what each surface runs with ---------------------------------------------------------------------


def test_legacy_client_takes_every_option() -> None:
    with LegacyClient(**SAMPLE) as client:
        assert client.options == expected(**SAMPLE)
        assert client.v3.settings is client.options
        assert client.translator.options is client.options
        assert client.translator.fetcher.max_bytes == 5_000_000


def test_install_and_mount_take_every_option() -> None:
    with install(**NO_TOKEN) as handle:
        assert handle.translator.options == expected(**NO_TOKEN)
        assert handle.v3.settings is handle.translator.options
    with mount(requests.Session(), **NO_TOKEN) as handle:
        assert handle.translator.options == expected(**NO_TOKEN)
    assert vars(HTTPAdapter)["send"] is ORIGINAL_SEND


def test_the_gateway_surfaces_take_every_option() -> None:
    app = make_app(UPSTREAM, **NEITHER)
    try:
        assert app.options == expected(**NO_TOKEN)
        assert app.translator.options is app.options
    finally:
        app.close()
    server = GatewayServer(UPSTREAM, **NEITHER)
    try:
        assert server.app.options == expected(**NO_TOKEN)
    finally:
        server.stop()


def flag_values(values: dict[str, Any]) -> list[str]:
    line: list[str] = []
    for name, value in values.items():
        flag = "--" + name.replace("_", "-")
        line += [flag] if value is True else [flag, str(value)]
    return line


def test_the_gateway_command_takes_every_option(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake_serve(upstream: str, **arguments: Any) -> bool:
        seen.update(arguments, upstream=upstream)
        return True

    monkeypatch.setattr(compat.gateway, "serve", fake_serve)
    args = ["gateway", "--listen", "127.0.0.1:0", "--upstream", UPSTREAM, *flag_values(NEITHER)]
    assert main(args) == 0
    assert seen["upstream"] == UPSTREAM
    assert seen["options"] == expected(**NO_TOKEN)
    assert seen["options"].sources()["timeout"] == "keyword timeout="


def test_a_bad_generated_flag_is_refused_by_the_parser_naming_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["gateway", "--listen", "127.0.0.1:0", "--upstream", UPSTREAM, "--store", ":memory:"]
    for bad in (["--timeout", "-1"], ["--max-media-bytes", "lots"], ["--unknown-fields", "drop"]):
        with pytest.raises(SystemExit) as exited:
            build_parser().parse_args([*base, *bad])
        assert exited.value.code == 2
        assert bad[0] in capsys.readouterr().err


def test_the_gateway_refuses_a_token_as_install_does() -> None:
    with pytest.raises(ConfigurationError) as caught:
        make_app(UPSTREAM, store=":memory:", api_key=TOKEN)  # type: ignore[call-arg]
    assert caught.value.option == "api_key"


# options= plus overrides -------------------------------------------------------------------------


def test_options_object_plus_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    options = Options.resolve(environ={}, store=":memory:", timeout=5, media_source_mode="background")
    monkeypatch.setenv("SCRIPTIX_COMPAT_TIMEOUT", "99")  # resolved once: the object is not read again
    with LegacyClient(TOKEN, options=options, max_retries=1) as client:
        assert client.options.timeout == 5.0
        assert client.options.max_retries == 1
        assert client.options.media_source_mode == "background"
        assert client.options.token() == TOKEN
        assert client.options.sources()["max_retries"] == "keyword max_retries="
        assert client.options.sources()["timeout"] == "keyword timeout="
    with LegacyClient(TOKEN, options=options, timeout=None) as client:  # None changes nothing
        assert client.options.timeout == 5.0


def test_settings_are_accepted_as_options() -> None:
    settings = Settings.resolve(environ={}, store=":memory:", timeout=4)
    with LegacyClient(TOKEN, options=settings, allow_private_media=True) as client:
        assert isinstance(client.options, Options)
        assert client.options.timeout == 4.0
        assert client.options.allow_private_media is True


def test_a_bad_override_on_an_options_object_is_named() -> None:
    options = Options.resolve(environ={}, store=":memory:")
    with pytest.raises(ConfigurationError) as caught:
        LegacyClient(TOKEN, options=options, chunk_size="lots")
    assert caught.value.option == "chunk_size"
    assert "keyword chunk_size=" in str(caught.value)
    with pytest.raises(ConfigurationError) as caught:
        LegacyClient(TOKEN, options=options, media_source_mode="later")  # type: ignore[arg-type]
    assert caught.value.option == "media_source_mode"


def test_translator_options_are_checked_too() -> None:
    for name, bad in (("max_media_bytes", 0), ("document_type", ""), ("align_strategy", "both")):
        with pytest.raises(ConfigurationError) as caught:
            Options.resolve(environ={}, **{name: bad})
        assert caught.value.option == name


def test_install_with_equal_options_shares_the_installation_whatever_their_source() -> None:
    first = install(base_url=UPSTREAM, store=":memory:", timeout=5)
    try:
        same = install(options=Options.resolve(environ={}, base_url=UPSTREAM, store=":memory:", timeout=5))
        assert same.translator is first.translator
        same.uninstall()
        with pytest.raises(ConfigurationError):
            install(options=first.translator.options, timeout=6)
    finally:
        first.uninstall()
    assert vars(HTTPAdapter)["send"] is ORIGINAL_SEND


# the environment: read in one place, documented in one table ------------------------------------


def _declared_variables() -> set[str]:
    return set(Options.environment().values()) | set(StagingSettings.environment().values())


def _variable_read(node: ast.AST) -> str | None:
    """The variable ``os.environ.get(NAME)``, ``os.getenv(NAME)`` or ``os.environ[NAME]`` reads, if any."""
    name: ast.expr | None = None
    if isinstance(node, ast.Call) and ast.unparse(node.func) in ("os.environ.get", "os.getenv") and node.args:
        name = node.args[0]
    elif isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
        name = node.slice
    return str(name.value) if isinstance(name, ast.Constant) else None


def test_no_environment_variable_is_read_outside_config() -> None:
    reads = []
    for path in COMPAT.rglob("*.py"):
        if path == COMPAT / "config.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            variable = _variable_read(node)
            if variable is not None and variable.startswith("SCRIPTIX_"):
                reads.append(f"{path.relative_to(COMPAT)}:{getattr(node, 'lineno', 0)}")
    assert reads == []


def test_every_scriptix_variable_named_in_the_code_is_declared() -> None:
    named = set()
    for path in COMPAT.rglob("*.py"):
        named |= set(re.findall(r"\bSCRIPTIX_[A-Z_]*[A-Z]\b", path.read_text(encoding="utf-8")))
    assert named - _declared_variables() == set()


def _readme_options_table() -> dict[str, str]:
    """README's configuration table: option name (or environment variable, for rows without one) -> row."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Configuration") :]
    section = section[: section.index("\n## ", 1)]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not line.startswith("|") or cells[1].startswith("-") or cells[0] == "option":
            continue
        for name in re.findall(r"`([a-z_]+)`", cells[0]) or re.findall(r"`(SCRIPTIX_[A-Z_]+)`", cells[1]):
            rows[name] = line
    return rows


def test_the_readme_options_table_has_every_option_and_its_variable() -> None:
    rows = _readme_options_table()
    environment = Options.environment()
    for name in FIELDS:
        assert name in rows, f"README's options table lacks {name}"
        variable = environment.get(name)
        if variable is not None:
            assert f"`{variable}`" in rows[name], f"README's row for {name} does not name {variable}"
    for variable in StagingSettings.environment().values():
        assert variable in rows, f"README's options table lacks {variable}"
    unknown = {name for name in rows if not name.startswith("SCRIPTIX_")} - FIELDS
    assert unknown == set(), f"README's options table names options that do not exist: {unknown}"
