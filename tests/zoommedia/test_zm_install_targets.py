"""``compat.install()`` and ``mount()`` cover ``https://api.scriptix.io`` and ``https://api.zoommedia.ai`` by
default; ``legacy_base_url`` narrows them to one URL; the path decides the generation on each."""

from __future__ import annotations

import requests
from fake_v3 import FakeV3
from pytest_httpserver import HTTPServer
from zm_helpers import SCRIPTIX, TOKEN, ZOOM

import compat
from compat.intercept.target import DEFAULT_LEGACY_URLS

HEADERS = {"X-Zoom-S2T-Key": TOKEN}


def zoom_create(base: str, http: object = requests) -> requests.Response:
    return http.post(f"{base}/api/v1/speech-to-text/session/", json={"language": "en-us"}, headers=HEADERS)  # type: ignore[attr-defined,no-any-return]


def v1_create(base: str, http: object = requests) -> requests.Response:
    return http.post(f"{base}/api/v3/speech-to-text/session", json={"language": "en"}, headers=HEADERS)  # type: ignore[attr-defined,no-any-return]


def test_install_covers_both_legacy_hosts_and_both_generations_on_each(fake: FakeV3) -> None:
    with compat.install(base_url=fake.base_url, store=":memory:") as handle:
        assert handle.legacy_base_urls == DEFAULT_LEGACY_URLS == (SCRIPTIX, ZOOM)
        assert handle.legacy_base_url == SCRIPTIX
        answers = [zoom_create(ZOOM), zoom_create(SCRIPTIX), v1_create(ZOOM), v1_create(SCRIPTIX)]
    assert [a.status_code for a in answers] == [200, 200, 200, 200]
    assert set(answers[0].json()) == set(answers[1].json()) == {"language", "sessionId", "zoom_id"}
    assert set(answers[2].json()) == set(answers[3].json()) == {"count", "total_results", "result"}
    assert len(fake.sessions) == 4
    assert fake.v1_calls == []


def test_legacy_base_url_narrows_install_and_mount_to_one_url(fake: FakeV3, upstream: HTTPServer) -> None:
    legacy = upstream.url_for("/legacy").rstrip("/")
    with compat.install(base_url=fake.base_url, store=":memory:", legacy_base_url=legacy) as handle:
        assert handle.legacy_base_urls == (legacy,)
        served = [zoom_create(legacy), v1_create(legacy)]  # both generations on the one URL
    assert [a.status_code for a in served] == [200, 200] and "zoom_id" in served[0].json()
    with requests.Session() as http, compat.mount(http, legacy_base_url=legacy, base_url=fake.base_url):
        assert f"{legacy}/" in http.adapters
        assert not {"https://api.scriptix.io/", "https://api.zoommedia.ai/"} & set(http.adapters)


def test_other_calls_to_the_zoom_media_host_go_to_base_url(upstream: HTTPServer) -> None:
    upstream.expect_request("/api/v2/languages", method="GET").respond_with_json({"languages": ["en-us"]})
    with compat.install(base_url=upstream.url_for("/").rstrip("/"), store=":memory:"):
        answer = requests.get(f"{ZOOM}/api/v2/languages", headers=HEADERS, params={"q": "en"})
    assert answer.json() == {"languages": ["en-us"]}
    (request, _), *_ = upstream.log
    assert request.path == "/api/v2/languages" and request.args["q"] == "en"
    assert request.headers["X-Zoom-S2T-Key"] == TOKEN


def test_mount_covers_both_hosts_on_its_session_only_and_unmounts_cleanly(fake: FakeV3) -> None:
    with requests.Session() as http:
        before = dict(http.adapters)
        with compat.mount(http, base_url=fake.base_url, store=":memory:"):
            assert {"https://api.scriptix.io/", "https://api.zoommedia.ai/"} <= set(http.adapters)
            served = [zoom_create(ZOOM, http), v1_create(SCRIPTIX, http)]
        assert dict(http.adapters) == before
    assert [a.status_code for a in served] == [200, 200]
    assert fake.v1_calls == []
