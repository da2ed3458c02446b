"""The ``scriptix_emulator`` fixture, loaded from the ``pytest11`` entry point of the installed package."""

from __future__ import annotations

import pytest
import requests

from compat.emulator import Emulator


def test_fixture_comes_from_the_entry_point(scriptix_emulator: Emulator, pytestconfig: pytest.Config) -> None:
    assert pytestconfig.pluginmanager.hasplugin("scriptix_compat")
    assert requests.get(scriptix_emulator.url + "/_emulator/health").json() == {"status": "ok"}
    assert scriptix_emulator.options.processing_delay == 0.1
    assert not scriptix_emulator.options.v1


@pytest.mark.scriptix_emulator(v1=True, processing_delay=0.3)
def test_fixture_takes_options_from_the_marker(scriptix_emulator: Emulator) -> None:
    assert scriptix_emulator.options.v1
    assert scriptix_emulator.options.processing_delay == 0.3
