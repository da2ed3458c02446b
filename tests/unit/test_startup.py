"""Start-up stays cheap (issue 11, item 8): ``--help`` and ``import compat`` load no HTTP stack.

``scriptix-compat --help`` builds the whole parser without importing any sub-command's code, and
``import compat`` loads each public name on first use, so neither pays for requests, pydantic,
werkzeug, tqdm, cryptography or the translator. Each check runs in a fresh interpreter and looks at
``sys.modules``; ``bench/startup.py`` measures the time (RESULTS.md, "Start-up").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import compat

ROOT = Path(__file__).resolve().parents[2]

# Third-party stacks and the shim's own heavy modules: none of them is needed to print help.
HEAVY = (
    "requests",
    "urllib3",
    "pydantic",
    "werkzeug",
    "waitress",
    "tqdm",
    "cryptography",
    "tusclient",
    "platformdirs",
    "sqlite3",
    "aiohttp",
    "asyncio",
    "compat.translate",
    "compat.legacy",
    "compat.intercept",
    "compat.gateway",
    "compat.frontdoor",
    "compat.v3",
    "compat.store",
    "compat.emulator",
    "compat.transcribe",
    "compat.staging.scan.scanner",
    "compat.staging.verify",
)

PROBE = """
import json, sys
{code}
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""

CLI = """
from compat.cli import main
try:
    main({argv!r})
except SystemExit as exit:
    assert exit.code == 0, exit.code
"""


def clean_env() -> dict[str, str]:
    """This process's environment without settings that change what compat does (an in-process CLI
    test sets ``SCRIPTIX_COMPAT_WARN=off``, for instance)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SCRIPTIX_") and k != "PYTHONWARNINGS"}


def loaded_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``code``."""
    finished = subprocess.run(
        [sys.executable, "-c", PROBE.format(code=code)],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    modules: list[str] = json.loads(finished.stderr.strip().splitlines()[-1])
    return set(modules)


def heavy_in(modules: set[str]) -> list[str]:
    return sorted(name for name in HEAVY if name in modules)


@pytest.mark.parametrize("argv", [["--help"], ["transcribe", "--help"], ["scan", "--help"], ["demo", "--help"]])
def test_help_loads_no_sub_command_code(argv: list[str]) -> None:
    assert heavy_in(loaded_after(CLI.format(argv=argv))) == []


def test_gateway_help_loads_only_what_its_option_flags_are_made_from() -> None:
    """The gateway's flags come from compat.Options (pydantic fields): its help needs that model, and
    the settings and errors it checks values with (requests), but not the gateway or the translator."""
    loaded = heavy_in(loaded_after(CLI.format(argv=["gateway", "--help"])))
    assert set(loaded) <= {"requests", "urllib3", "pydantic", "platformdirs"}, loaded


def test_import_compat_loads_no_http_stack() -> None:
    assert heavy_in(loaded_after("import compat")) == []


def test_the_probe_sees_heavy_modules_when_they_are_loaded() -> None:
    """The check above can fail: asking for a public name loads what it needs."""
    loaded = heavy_in(loaded_after("from compat import LegacyClient"))
    assert {"requests", "pydantic", "compat.translate", "compat.legacy"} <= set(loaded)


def test_every_public_name_loads_on_first_use_from_its_module() -> None:
    for name in compat.__all__:
        value = getattr(compat, name)
        assert value is not None, name
        if isinstance(value, type) or callable(value):
            assert value.__module__.startswith("compat"), name
    assert set(compat.__all__) <= set(dir(compat))
    namespace: dict[str, object] = {}
    exec("from compat import *", namespace)
    assert set(compat.__all__) <= set(namespace)


def test_a_name_compat_does_not_have_is_an_attribute_error_and_submodules_still_import() -> None:
    with pytest.raises(AttributeError, match="no attribute 'NoSuchName'"):
        compat.NoSuchName  # noqa: B018
    from compat import safejson

    assert safejson.__name__ == "compat.safejson"


def test_import_compat_connects_the_staging_observer_and_shows_the_warning() -> None:
    """Without importing anything public: a module of the shim alone still reports to staging."""
    code = """
import warnings
from compat.legacy import LegacyClient
from compat.hooks import caller_site, on_legacy_call
with warnings.catch_warnings(record=True) as caught:
    on_legacy_call("upload", caller_site(), "LegacyClient")
print([str(w.category.__name__) for w in caught], file=sys.stderr)
"""
    finished = subprocess.run(
        [sys.executable, "-c", "import sys\n" + code],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 0, finished.stderr
    assert finished.stderr.strip().splitlines()[-1] == "['LegacyV1Warning']"


def test_the_warning_filter_is_in_place_after_import_compat() -> None:
    code = "import compat, warnings; print(any(f[2] is compat.LegacyV1Warning for f in warnings.filters))"
    finished = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=60
    )
    assert finished.stdout.strip() == "True", finished.stderr
