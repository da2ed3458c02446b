"""Settings: keyword > environment > default, size strings, and a named error for every bad value."""

from __future__ import annotations

import math
from typing import Any

import pytest

from compat import ConfigurationError, Settings
from compat.config import DEFAULT_BASE_URL, ENVIRONMENT, default_store_path

TOKEN = "cfg-secret-token-7f3a91"

ALL_ENV = {
    "SCRIPTIX_API_KEY": "env-token-aaaa",
    "SCRIPTIX_BASE_URL": "http://env.example:8080/",
    "SCRIPTIX_COMPAT_TIMEOUT": "12.5",
    "SCRIPTIX_COMPAT_MAX_RETRIES": "3",
    "SCRIPTIX_COMPAT_CHUNK_SIZE": "8MiB",
    "SCRIPTIX_COMPAT_STORE": "/tmp/env-store.sqlite3",
}


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ENVIRONMENT.values():
        monkeypatch.delenv(variable, raising=False)


# precedence ----------------------------------------------------------------------------------


def test_environment_variable_names() -> None:
    assert ENVIRONMENT == {
        "api_key": "SCRIPTIX_API_KEY",
        "base_url": "SCRIPTIX_BASE_URL",
        "timeout": "SCRIPTIX_COMPAT_TIMEOUT",
        "max_retries": "SCRIPTIX_COMPAT_MAX_RETRIES",
        "chunk_size": "SCRIPTIX_COMPAT_CHUNK_SIZE",
        "store": "SCRIPTIX_COMPAT_STORE",
        "claim_lease": "SCRIPTIX_COMPAT_CLAIM_LEASE",
    }


def test_defaults_when_nothing_is_given() -> None:
    settings = Settings.resolve(environ={})
    assert settings.api_key is None
    assert settings.token() is None
    assert settings.base_url == DEFAULT_BASE_URL == "https://api.scriptix.io"
    assert settings.timeout == 60.0
    assert settings.max_retries == 5
    assert settings.chunk_size == 50 * 1024 * 1024
    assert settings.store == str(default_store_path())
    assert settings.auth_scheme == "x-zoom-s2t-key"


def test_environment_beats_default() -> None:
    settings = Settings.resolve(environ=ALL_ENV)
    assert settings.token() == "env-token-aaaa"
    assert settings.base_url == "http://env.example:8080"  # trailing slash dropped
    assert settings.timeout == 12.5
    assert settings.max_retries == 3
    assert settings.chunk_size == 8 * 1024 * 1024
    assert settings.store == "/tmp/env-store.sqlite3"


def test_keyword_beats_environment() -> None:
    settings = Settings.resolve(
        environ=ALL_ENV,
        api_key=TOKEN,
        base_url="https://kw.example",
        timeout=2,
        max_retries=0,
        chunk_size="50MB",
        store=":memory:",
    )
    assert settings.token() == TOKEN
    assert settings.base_url == "https://kw.example"
    assert settings.timeout == 2.0
    assert isinstance(settings.timeout, float)
    assert settings.max_retries == 0
    assert settings.chunk_size == 50_000_000
    assert settings.store == ":memory:"


def test_none_keyword_falls_through_to_environment() -> None:
    settings = Settings.resolve(environ=ALL_ENV, timeout=None, max_retries=None, api_key=None)
    assert settings.timeout == 12.5
    assert settings.max_retries == 3
    assert settings.token() == "env-token-aaaa"


def test_empty_environment_variable_counts_as_unset() -> None:
    settings = Settings.resolve(environ={name: "" for name in ALL_ENV})
    assert settings.api_key is None
    assert settings.base_url == DEFAULT_BASE_URL
    assert settings.timeout == 60.0
    assert settings.max_retries == 5
    assert settings.store == str(default_store_path())


def test_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCRIPTIX_API_KEY", "os-environ-token")
    monkeypatch.setenv("SCRIPTIX_COMPAT_TIMEOUT", "7")
    monkeypatch.setenv("SCRIPTIX_COMPAT_MAX_RETRIES", "9")
    monkeypatch.setenv("SCRIPTIX_COMPAT_CHUNK_SIZE", "1KiB")
    settings = Settings.resolve(max_retries=1)
    assert settings.token() == "os-environ-token"
    assert settings.timeout == 7.0
    assert settings.max_retries == 1  # keyword still wins
    assert settings.chunk_size == 1024


def test_explicit_environ_ignores_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCRIPTIX_COMPAT_TIMEOUT", "7")
    assert Settings.resolve(environ={}).timeout == 60.0


def test_api_key_is_stripped_and_endpoints_follow_base_url() -> None:
    settings = Settings.resolve(environ={}, api_key=f"  {TOKEN} ", base_url="http://127.0.0.1:9/")
    assert settings.token() == TOKEN
    assert settings.tus_endpoint == "http://127.0.0.1:9/api/v3/files/"
    assert settings.session_endpoint == "http://127.0.0.1:9/api/v3/speech-to-text/session"


# sizes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("8MiB", 8 * 1024 * 1024),
        ("50MB", 50_000_000),
        ("1024", 1024),
        ("1KiB", 1024),
        ("2k", 2000),
        ("3 mb", 3_000_000),
        (" 1GiB ", 1024**3),
        ("1gb", 1000**3),
        ("7b", 7),
        (4096, 4096),
        (1, 1),
    ],
)
def test_chunk_size_strings(raw: Any, expected: int) -> None:
    assert Settings.resolve(environ={}, chunk_size=raw).chunk_size == expected
    if isinstance(raw, str):
        assert Settings.resolve(environ={"SCRIPTIX_COMPAT_CHUNK_SIZE": raw}).chunk_size == expected


# bad values ----------------------------------------------------------------------------------

BAD_VALUES: list[tuple[str, Any]] = [
    ("timeout", -1),
    ("timeout", 0),
    ("timeout", math.nan),
    ("timeout", "nan"),
    ("timeout", math.inf),
    ("timeout", "-3"),
    ("timeout", "soon"),
    ("timeout", True),
    ("connect_timeout", 0),
    ("backoff_base", -0.5),
    ("backoff_max", 0),
    ("max_retry_after", -1),
    ("session_poll_timeout", "x"),
    ("max_retries", "1.5"),
    ("max_retries", 2.5),
    ("max_retries", "three"),
    ("max_retries", -1),
    ("max_retries", 101),
    ("max_retries", True),
    ("chunk_size", "8XB"),
    ("chunk_size", "1.5MB"),
    ("chunk_size", "MiB"),
    ("chunk_size", "0"),
    ("chunk_size", 0),
    ("chunk_size", -5),
    ("chunk_size", "-5"),
    ("chunk_size", 8.5),
    ("base_url", "ftp://files.example"),
    ("base_url", "api.scriptix.io"),
    ("base_url", "https://"),
    ("base_url", "https://user:pw@api.scriptix.io"),
    ("base_url", "https://user@api.scriptix.io"),
    ("base_url", "https://api.scriptix.io/?x=1"),
    ("base_url", "https://api.scriptix.io/#frag"),
    ("api_key", "abc\ndef"),
    ("api_key", "abc\rdef"),
    ("api_key", "abc\0def"),
    ("api_key", "   "),
    ("api_key", 12345),
    ("store", ""),
    ("store", 5),
    ("auth_scheme", "basic"),
]


@pytest.mark.parametrize(("option", "raw"), BAD_VALUES, ids=[f"{o}={r!r}" for o, r in BAD_VALUES])
def test_bad_keyword_value_is_a_named_configuration_error(option: str, raw: Any) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.resolve(environ={}, **{option: raw})
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.option == option
    assert f"'{option}'" in str(error)
    assert f"keyword {option}=" in str(error)
    assert not any(variable in str(error) for variable in ENVIRONMENT.values())


BAD_ENVIRONMENT: list[tuple[str, str]] = [
    ("timeout", "-1"),
    ("timeout", "0"),
    ("timeout", "nan"),
    ("timeout", "NaN"),
    ("timeout", "inf"),
    ("timeout", "ten"),
    ("max_retries", "1.5"),
    ("max_retries", "many"),
    ("max_retries", "-2"),
    ("chunk_size", "lots"),
    ("chunk_size", "0MiB"),
    ("chunk_size", "12 parsecs"),
    ("base_url", "ftp://files.example"),
    ("base_url", "https://user:pw@api.scriptix.io"),
    ("api_key", "abc\ndef"),
]


@pytest.mark.parametrize(("option", "raw"), BAD_ENVIRONMENT, ids=[f"{o}={r!r}" for o, r in BAD_ENVIRONMENT])
def test_bad_environment_value_names_option_and_variable(option: str, raw: str) -> None:
    variable = ENVIRONMENT[option]
    with pytest.raises(ConfigurationError) as caught:
        Settings.resolve(environ={variable: raw})
    error = caught.value
    assert error.option == option
    assert f"'{option}'" in str(error)
    assert variable in str(error)


def test_bad_os_environ_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCRIPTIX_COMPAT_TIMEOUT", "-4")
    with pytest.raises(ConfigurationError, match="SCRIPTIX_COMPAT_TIMEOUT") as caught:
        Settings.resolve()
    assert caught.value.option == "timeout"


def test_good_keyword_hides_bad_environment_value() -> None:
    settings = Settings.resolve(environ={"SCRIPTIX_COMPAT_TIMEOUT": "nan"}, timeout=5)
    assert settings.timeout == 5.0


def test_unknown_option_is_named() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.resolve(environ={}, timout=5)
    assert caught.value.option == "timout"
    assert "'timout'" in str(caught.value)
    assert "timeout" in str(caught.value)  # the known options are listed


def test_bad_token_is_not_echoed_in_the_error() -> None:
    bad = f"{TOKEN}\nsecond-line"
    for kwargs in ({"api_key": bad, "environ": {}}, {"environ": {"SCRIPTIX_API_KEY": bad}}):
        with pytest.raises(ConfigurationError) as caught:
            Settings.resolve(**kwargs)
        assert TOKEN not in str(caught.value)
        assert TOKEN not in repr(caught.value)
        assert caught.value.option == "api_key"


def test_settings_are_frozen() -> None:
    settings = Settings.resolve(environ={})
    with pytest.raises(ValueError):
        settings.timeout = 1.0


# the token is never shown ----------------------------------------------------------------------


def test_repr_and_str_never_show_the_token() -> None:
    settings = Settings.resolve(environ={}, api_key=TOKEN, base_url="http://127.0.0.1:1")
    for text in (repr(settings), str(settings), f"{settings}", f"{settings!r}", str(settings.model_dump())):
        assert TOKEN not in text
    assert "<redacted>" in repr(settings)
    assert "http://127.0.0.1:1" in repr(settings)  # the rest is still shown
    assert settings.token() == TOKEN


def test_repr_without_token_says_none() -> None:
    assert "api_key=None" in repr(Settings.resolve(environ={}))


def test_token_from_environment_is_not_shown() -> None:
    settings = Settings.resolve(environ={"SCRIPTIX_API_KEY": TOKEN})
    assert TOKEN not in repr(settings)
    assert TOKEN not in str(settings)
