"""The ``scriptix_emulator`` pytest fixture, registered through the ``pytest11`` entry point.

Installing ``scriptix-compat`` makes it available in any test suite::

    def test_transcribe(scriptix_emulator):
        client = LegacyClient(api_key="test", base_url=scriptix_emulator.url, store=":memory:")
        ...

    @pytest.mark.scriptix_emulator(v1=True, processing_delay=0.5)
    def test_legacy_put(scriptix_emulator): ...  # V1 mode: tokens test-token/other-token only

    @pytest.mark.scriptix_emulator(tokens=["good"], languages=["en", "nl"])
    def test_refusals(scriptix_emulator): ...  # another token gets 401, another language 400

    @pytest.mark.scriptix_emulator(v1=True, time_unit="s")
    def test_zoom_media(scriptix_emulator): ...  # /api/v1|v2/… too; word times in seconds, not ms

Each test gets its own started :class:`compat.emulator.Emulator` (stopped afterwards). Keywords of
the ``scriptix_emulator`` marker are passed to it; ``processing_delay`` defaults to 0.1 s here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from compat.emulator.server import Emulator

__all__ = ["FIXTURE_DEFAULTS", "scriptix_emulator"]

FIXTURE_DEFAULTS: dict[str, Any] = {"processing_delay": 0.1}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "scriptix_emulator(**options): options for the scriptix_emulator fixture (Emulator keywords)"
    )


@pytest.fixture
def scriptix_emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """A started Scriptix V3 emulator on 127.0.0.1 (see :class:`compat.emulator.Emulator`)."""
    from compat.emulator.server import Emulator

    options = dict(FIXTURE_DEFAULTS)
    marker = request.node.get_closest_marker("scriptix_emulator")
    if marker is not None:
        options.update(marker.kwargs)
    with Emulator(**options) as emulator:
        yield emulator
