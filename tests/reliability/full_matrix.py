"""The switch between the fast subset (the default, what CI runs) and the full matrix.

Turn the full matrix on with ``--full-matrix`` (an option of the conftests of ``tests/reliability``,
``tests/security`` and ``tests/property``: give one of these folders on the command line) or with
``SCRIPTIX_COMPAT_FULL=1`` (works for any pytest command line, e.g. ``SCRIPTIX_COMPAT_FULL=1 bash .ci/run``).

The full matrix cuts 20 offsets of larger files for several seeds, runs every status on every step
with storms shorter than, equal to and longer than ``max_retries``, restarts the upstream several
times per upload, and gives the property tests many more examples.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import pytest

__all__ = ["ENVIRONMENT", "FAST", "FULL", "OPTION", "Matrix", "add_option", "is_full"]

KIB = 1024
MIB = 1024 * KIB

OPTION = "--full-matrix"
ENVIRONMENT = "SCRIPTIX_COMPAT_FULL"


def add_option(parser: pytest.Parser) -> None:
    """Add ``--full-matrix`` (once, whichever of our conftests comes first)."""
    with contextlib.suppress(ValueError):  # already added by another of our conftests
        parser.addoption(
            OPTION,
            action="store_true",
            default=False,
            help=f"run the full fault matrix, security and property suites (also: {ENVIRONMENT}=1)",
        )


def is_full(config: pytest.Config) -> bool:
    """Whether this run is the full matrix."""
    return bool(config.getoption(OPTION, default=False)) or os.environ.get(ENVIRONMENT, "").strip() not in ("", "0")


@dataclass(frozen=True)
class Matrix:
    """The sizes of the run: small in the fast subset, larger with ``--full-matrix``."""

    full: bool
    seeds: tuple[int, ...]
    drop_cases: tuple[tuple[int, int], ...]  # (file size, chunk size) for the 20-offset cuts
    restarts: int  # upstream restarts during one upload
    kill_fractions: tuple[float, ...]


FAST = Matrix(full=False, seeds=(1,), drop_cases=((1 * MIB + 17, 64 * KIB),), restarts=1, kill_fractions=(0.4,))
FULL = Matrix(
    full=True,
    seeds=(1, 2, 3, 4, 5),
    drop_cases=((1 * MIB + 17, 64 * KIB), (24 * MIB + 3, 1 * MIB)),
    restarts=3,
    kill_fractions=(0.05, 0.4, 0.95),
)
