"""The staging toolkit knows the Zoom Media calls: warnings, the usage report and strict mode name them
(``zm_create_session``, ``zm_upload``, ``zm_video_url``, ``zm_get_result``, ``zm_captions``) with their V3
replacements, through ``compat.install()`` and the gateway alike."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from fake_v3 import FakeV3
from zm_helpers import TOKEN, ZOOM, ZoomClient, make_wav

import compat
import compat.usage
from compat import LegacyCallError, LegacyV1Warning
from compat.gateway import GatewayServer
from compat.staging import usage as usage_module
from compat.staging.operations import REPLACEMENTS, replacement_for

HERE = Path(__file__).resolve().parent
ZOOM_OPERATIONS = ("zm_create_session", "zm_upload", "zm_video_url", "zm_get_result", "zm_captions")


@pytest.fixture(autouse=True)
def clean_staging_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("SCRIPTIX_COMPAT_WARN", "SCRIPTIX_COMPAT_REPORT", "SCRIPTIX_COMPAT_STRICT"):
        monkeypatch.delenv(name, raising=False)
    usage_module._pending.clear()
    yield
    usage_module._pending.clear()


def every_zoom_call(zoom: ZoomClient, wav: Path) -> None:
    """One call of each Zoom Media operation (the video_url one is refused by the SSRF guard: still a call)."""
    session_id = zoom.create_id()  # zm_create_session
    zoom.upload(session_id, wav)  # zm_upload
    other = zoom.create_id()
    zoom.http.post(
        f"{zoom.base}/{other}", json={"video_url": "http://127.0.0.1:9/a.wav"}, headers={"X-Zoom-S2T-Key": TOKEN}
    )  # zm_video_url
    zoom.status(session_id)  # zm_get_result
    zoom.status(session_id, Accept="text/vtt")  # zm_captions


def test_the_warning_names_the_zoom_media_call_and_its_replacement(
    fake: FakeV3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCRIPTIX_COMPAT_WARN", "always")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        with compat.install(base_url=fake.base_url, store=":memory:"):
            every_zoom_call(ZoomClient(ZOOM), make_wav(tmp_path / "talk.wav"))
    found = [w for w in caught if issubclass(w.category, LegacyV1Warning)]
    operations = [str(w.message).split(" call ", 1)[1].split(" ", 1)[0] for w in found]
    assert sorted(set(operations)) == sorted(ZOOM_OPERATIONS)
    for warning in found:
        text = str(warning.message)
        assert text.startswith("Zoom Media API v1/v2 call zm_")
        operation = text.split(" call ", 1)[1].split(" ", 1)[0]
        assert replacement_for(operation) in text
        assert "MIGRATION.md#the-zoom-media-api-v1v2-generation" in text
        assert Path(warning.filename).parent == HERE  # the caller's own line, not the shim's


@pytest.mark.parametrize("surface", ["install", "gateway"])
def test_the_usage_report_names_each_zoom_media_call(
    surface: str, fake: FakeV3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = tmp_path / "usage.json"
    monkeypatch.setenv("SCRIPTIX_COMPAT_REPORT", str(report))
    monkeypatch.setenv("SCRIPTIX_COMPAT_WARN", "off")
    wav = make_wav(tmp_path / "talk.wav")
    if surface == "install":
        with compat.install(base_url=fake.base_url, store=":memory:"):
            every_zoom_call(ZoomClient(ZOOM), wav)
    else:
        with GatewayServer(fake.base_url, store=":memory:") as gateway:
            every_zoom_call(ZoomClient(gateway.url), wav)
    calls = compat.usage.report()["calls"]
    counts: dict[str, int] = {}
    for call in calls:
        counts[call["operation"]] = counts.get(call["operation"], 0) + call["count"]
        assert call["replacement"] == replacement_for(call["operation"])
    assert counts == {"zm_create_session": 2, "zm_upload": 1, "zm_video_url": 1, "zm_get_result": 1, "zm_captions": 1}
    if surface == "gateway":
        assert {call["file"] for call in calls} == {"gateway:127.0.0.1"}
    else:
        assert {Path(call["file"]).resolve().parent for call in calls} == {HERE}
    assert TOKEN not in report.read_text()


def test_strict_mode_fails_a_new_zoom_media_call_naming_its_replacement(
    fake: FakeV3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    baseline = tmp_path / "baseline.json"
    monkeypatch.setenv("SCRIPTIX_COMPAT_REPORT", str(baseline))
    monkeypatch.setenv("SCRIPTIX_COMPAT_WARN", "off")
    with compat.install(base_url=fake.base_url, store=":memory:"):
        zoom = ZoomClient(ZOOM)

        def known() -> str:
            return zoom.create_id()

        session_id = known()
        compat.usage.report()
        monkeypatch.delenv("SCRIPTIX_COMPAT_REPORT")
        monkeypatch.setenv("SCRIPTIX_COMPAT_STRICT", str(baseline))
        known()  # in the baseline: allowed
        before = len(fake.requests)
        with pytest.raises(LegacyCallError) as caught:
            requests.get(
                f"{ZOOM}/api/v2/speech-to-text/session/{session_id}",
                headers={"Accept": "text/vtt", "X-Zoom-S2T-Key": TOKEN},
            )
        assert len(fake.requests) == before  # refused before anything was sent
    assert caught.value.operation == "zm_captions"
    assert REPLACEMENTS["zm_captions"][0] in str(caught.value)
