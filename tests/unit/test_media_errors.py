"""``compat.media`` raises its own errors; the translator answers each with the V1 refusal (issue 11, item 3).

The fetcher says what is wrong and which HTTP status fits (:class:`compat.media.MediaError`), in no
API's words; :func:`compat.translate.media_refusal` gives the V1 text a caller has always seen. The
V1 answers themselves, through every surface, are checked in ``tests/security/test_sec_ssrf.py``,
``tests/unit/test_legacy.py`` and ``tests/defects/test_item_02_*``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from compat import ScriptixError, UnprocessableEntityError, UnsupportedMediaTypeError
from compat.errors import BadRequestError
from compat.media import (
    AddressPolicy,
    MediaAddressError,
    MediaContentError,
    MediaDownloadError,
    MediaError,
    MediaFetcher,
    MediaURLError,
)
from compat.translate import media_refusal

V1_WORDS = ("Invalid data", "Body Invalid", "Content Invalid", "Invalid language")


@pytest.fixture
def fetcher() -> MediaFetcher:
    return MediaFetcher(AddressPolicy(allow_private=True), max_bytes=1000, timeout=(5.0, 5.0))


def test_the_fetcher_raises_media_errors_not_v1_refusals(fetcher: MediaFetcher, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/page").respond_with_data("<html>", content_type="text/html")
    httpserver.expect_request("/missing").respond_with_data("no", status=404)
    httpserver.expect_request("/big").respond_with_response(
        Response(b"x" * 2000, content_type="audio/wav", headers={"Content-Length": "2000"})
    )
    cases = [
        (lambda: fetcher.check("ftp://example.com/a.wav"), MediaURLError, 422),
        (lambda: MediaFetcher(AddressPolicy(), max_bytes=10).check("http://127.0.0.1/a.wav"), MediaAddressError, 422),
        (lambda: fetcher.open(httpserver.url_for("/page")), MediaContentError, 415),
        (lambda: fetcher.open(httpserver.url_for("/missing")), MediaDownloadError, 400),
        (lambda: fetcher.open(httpserver.url_for("/big")), MediaDownloadError, 400),
    ]
    for call, kind, status in cases:
        with pytest.raises(MediaError) as caught:
            call()
        assert type(caught.value) is kind and caught.value.status == status
        assert not isinstance(caught.value, ScriptixError)
        assert not str(caught.value).startswith(V1_WORDS), str(caught.value)


@pytest.mark.parametrize(
    ("error", "v1_class", "v1_text"),
    [
        (
            MediaURLError("'media_source redirect target' must be an http(s) URL"),
            UnprocessableEntityError,
            "Body Invalid: 'media_source redirect target' must be an http(s) URL",
        ),
        (
            MediaAddressError(),
            UnprocessableEntityError,
            "Body Invalid: media_source must be a public http(s) URL; loopback, private, link-local and metadata "
            "addresses are refused (allow_private_media=True lifts this for local testing)",
        ),
        (
            MediaDownloadError("media_source answered HTTP 404"),
            BadRequestError,
            "Invalid data: media_source answered HTTP 404",
        ),
        (
            MediaContentError("media_source answered text/html, not audio or video"),
            UnsupportedMediaTypeError,
            "Content Invalid: media_source answered text/html, not audio or video",
        ),
    ],
)
def test_the_translator_answers_each_with_its_v1_refusal(
    error: MediaError, v1_class: type[ScriptixError], v1_text: str
) -> None:
    refusal = media_refusal(error)
    assert type(refusal) is v1_class
    assert refusal.status_code == error.status
    assert refusal.body == {"error": v1_text}


def test_media_speaks_no_v1() -> None:
    """No V1 wording in the module: the words belong to the translator (the import contracts keep
    compat.v1 out of its imports)."""
    source = (Path(__file__).parents[2] / "compat" / "media.py").read_text(encoding="utf-8")
    assert [word for word in V1_WORDS if word in source] == []
