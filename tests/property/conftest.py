"""Property tests (hypothesis): the translator and the gateway under arbitrary input.

Hypothesis profiles: ``scriptix-fast`` by default (derandomized, so CI sees the same examples on
every run) and ``scriptix-full`` with ``--full-matrix`` or ``SCRIPTIX_COMPAT_FULL=1`` (many more,
random examples). ``--hypothesis-profile`` still wins when given. Nothing is stored in a
``.hypothesis`` directory; a failure prints its reproducing example.

The network is a :class:`sec_helpers.NetGuard` (tests/security): no ``media_source`` URL is ever
resolved by DNS or fetched from outside loopback.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

TESTS = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(TESTS / "reliability"), str(TESTS / "security")]
from full_matrix import add_option, is_full  # noqa: E402
from sec_helpers import fake, net  # noqa: E402

__all__ = ["fake", "net"]  # fixtures of tests/security, used here too

_COMMON = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}
settings.register_profile("scriptix-fast", max_examples=150, derandomize=True, **_COMMON)
settings.register_profile("scriptix-full", max_examples=1500, **_COMMON)


def pytest_addoption(parser: pytest.Parser) -> None:
    add_option(parser)


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("hypothesis_profile", default=None) is None:
        settings.load_profile("scriptix-full" if is_full(config) else "scriptix-fast")
