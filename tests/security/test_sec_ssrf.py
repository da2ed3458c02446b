"""``media_source`` must never make the shim fetch from a place the caller could not reach itself.

Extends tests/unit/test_legacy.py (which has the common private ranges, decimal/hex/octal, one
IPv4-mapped form, one redirect and one rebinding) with: other schemes and malformed URLs; every
short and odd spelling of an address; IPv6 forms that embed an IPv4 address (NAT64, 6to4, SIIT,
IPv4-compatible); cloud metadata services; look-alike host names; each redirect status, relative and
disguised redirect targets, chains and loops; DNS answers that mix or change between the check and
the connection, also on a redirect hop and in the background mode; and the same refusals through
the gateway and ``compat.install()``.

Every case runs on a :class:`sec_helpers.NetGuard` network: nothing resolves or connects outside
loopback, and an address the shim *tried* to connect to is recorded, so "refused by policy" cannot
pass for "failed by the network". 127.0.0.2 plays a public media host (``also_allow``); 127.0.0.1 is
internal (the V3 fake and a ``/secret`` beside it).
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import requests
from fake_v3 import FakeV3
from pytest_httpserver import HTTPServer
from sec_helpers import LEGACY, SESSIONS, TOKEN, NetGuard
from werkzeug import Request, Response
from werkzeug.test import Client

import compat
from compat import LegacyClient, ScriptixError
from compat.gateway import make_app
from compat.media import AddressPolicy

PUBLIC = AddressPolicy(also_allow=["127.0.0.2/32"])


def client_for(fake: FakeV3, *, policy: AddressPolicy | None = None, **options: Any) -> LegacyClient:
    client = LegacyClient(api_key=TOKEN, base_url=fake.base_url, store=":memory:", **options)
    if policy is not None:
        client.translator.fetcher.policy = policy
    return client


def refused(client: LegacyClient, url: str) -> ScriptixError:
    with pytest.raises(ScriptixError) as caught:
        client.create_session("en", media_source=url)
    error = caught.value
    assert error.status_code is not None and 400 <= error.status_code < 500, repr(error)
    assert "media_source" in error.body["error"]
    return error


@pytest.fixture
def secret(httpserver: HTTPServer, fake: FakeV3) -> str:
    """An internal URL on 127.0.0.1 that must never be fetched."""
    httpserver.expect_request("/secret").respond_with_data(b"internal", content_type="audio/mpeg")
    return f"http://127.0.0.1:{httpserver.port}/secret"


def secret_fetches(httpserver: HTTPServer) -> int:
    return sum(1 for request, _ in httpserver.log if request.path == "/secret")


# Schemes and URLs that are not http(s) URLs: refused before any lookup ------------------------------

NOT_HTTP = [
    "dict://127.0.0.1:11211/stat",
    "ftp://media.example/x.mp3",
    "sftp://media.example/x.mp3",
    "ldap://127.0.0.1/dc=x",
    "ws://media.example/x",
    "jar:http://media.example/x.jar!/a.mp3",
    "data:audio/wav;base64,UklGRg==",
    "javascript:alert(1)",
    "file:/etc/passwd",
    "//media.example/x.mp3",
    "http:/media.example/x.mp3",
    "http:\\\\media.example\\x.mp3",
    "http://",
    "http://:80/x.mp3",
    " http://media.example/x.mp3",
    "http://media.example/x.mp3\r\nX-Evil: 1",
]


@pytest.mark.parametrize("url", NOT_HTTP)
def test_a_media_source_that_is_not_an_http_url_is_refused_before_any_lookup(
    fake: FakeV3, net: NetGuard, url: str
) -> None:
    assert refused(client_for(fake, policy=PUBLIC), url).status_code == 422
    assert net.lookups == [] and net.escapes == []
    assert fake.requests == []


# Every spelling of an internal address ------------------------------------------------------------

INTERNAL = [
    # IPv4 short, padded, hex and octal forms (inet_aton rules)
    "http://127.1/x.mp3",
    "http://127.0.1/x.mp3",
    "http://0x7f.1/x.mp3",
    "http://0x7f.0x0.0x0.0x1/x.mp3",
    "http://017700000001/x.mp3",
    "http://0177.0.0.01/x.mp3",
    "http://127.000.000.001/x.mp3",
    "HTTP://127.0.0.1:8080/x.mp3",
    "http://0/x.mp3",
    "http://0x0/x.mp3",
    "http://255.255.255.255/x.mp3",
    "http://240.0.0.1/x.mp3",
    "http://198.18.0.1/x.mp3",
    # IPv6 forms
    "http://[::]/x.mp3",
    "http://[0:0:0:0:0:0:0:1]/x.mp3",
    "http://[::ffff:7f00:1]/x.mp3",
    "http://[::ffff:169.254.169.254]/latest/meta-data/",
    "http://[::ffff:a9fe:a9fe]/latest/meta-data/",
    "http://[fe80::1]/x.mp3",
    "http://[fc00::1]/x.mp3",
    # cloud metadata services
    "http://169.254.170.2/v2/credentials",
    "http://100.100.100.200/latest/meta-data/",
    "http://metadata.google.internal/computeMetadata/v1/",
    # names and look-alikes of localhost
    "http://localhost./x.mp3",
    "http://LOCALHOST/x.mp3",
    "http://\u24db\u24de\u24d2\u24d0\u24db\u24d7\u24de\u24e2\u24e3/x.mp3",  # circled letters: IDNA says localhost
    "http://\uff11\uff12\uff17\u3002\uff10\u3002\uff10\u3002\uff11/x.mp3",  # fullwidth digits, ideographic dots
    "http://internal.example/x.mp3",
    # userinfo and fragment tricks that keep the internal host
    "http://media.example@127.0.0.1/x.mp3",
    "http://127.0.0.1#@media.example/x.mp3",
    "http://127.0.0.1:80\\@media.example/x.mp3",
]

# IPv6 addresses that carry an IPv4 address inside them: a NAT64 gateway (64:ff9b::/96, common in
# IPv6-only cloud subnets), a 6to4 relay (2002::/16) or an SIIT translator (::ffff:0:0/96) delivers
# them to that IPv4 address; the IPv4-compatible form (::/96) is the deprecated cousin of the mapped one.
EMBEDDED = [
    "http://[64:ff9b::7f00:1]/x.mp3",
    "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",
    "http://[64:ff9b::a00:1]/x.mp3",
    "http://[2002:7f00:1::]/x.mp3",
    "http://[2002:a9fe:a9fe::]/latest/meta-data/",
    "http://[::ffff:0:7f00:1]/x.mp3",
    "http://[::127.0.0.1]/x.mp3",
]

# Metadata services on addresses the ipaddress module calls global.
METADATA = [
    "http://192.0.0.192/latest/meta-data/",  # Oracle Cloud (legacy metadata service)
]


@pytest.mark.parametrize("url", INTERNAL + EMBEDDED + METADATA)
def test_every_spelling_of_an_internal_address_is_refused_without_a_connection(
    fake: FakeV3, net: NetGuard, url: str
) -> None:
    net.names["internal.example"] = ["127.0.0.1"]
    net.names["media.example"] = ["127.0.0.2"]
    net.names["metadata.google.internal"] = ["169.254.169.254"]
    error = refused(client_for(fake), url)
    assert net.escapes == [], f"the shim tried to connect to {net.escapes[0][0]}: the address was not refused"
    assert error.status_code == 422, error.body
    assert fake.requests == []


# Redirects ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.1:{port}/secret",
        "//127.0.0.1:{port}/secret",
        "http://[::ffff:127.0.0.1]:{port}/secret",
        "http://2130706433:{port}/secret",
        "http://internal.example:{port}/secret",
        "file:///etc/passwd",
        "gopher://127.0.0.1:{port}/_secret",
    ],
)
def test_a_redirect_to_an_internal_place_is_not_followed(
    fake: FakeV3, net: NetGuard, media_host: HTTPServer, httpserver: HTTPServer, secret: str, status: int, location: str
) -> None:
    net.names["internal.example"] = ["127.0.0.1"]
    media_host.expect_request("/x-file.mp3").respond_with_data(
        "", status=status, headers={"Location": location.format(port=httpserver.port)}
    )
    error = refused(client_for(fake, policy=PUBLIC), media_host.url_for("/x-file.mp3"))
    assert error.status_code == 422
    assert secret_fetches(httpserver) == 0 and net.escapes == []
    assert fake.requests == [] and fake.uploads == {}


def test_a_redirect_chain_that_ends_inside_is_refused_at_its_last_hop(
    fake: FakeV3, net: NetGuard, media_host: HTTPServer, httpserver: HTTPServer, secret: str
) -> None:
    media_host.expect_request("/a.mp3").respond_with_data("", status=302, headers={"Location": "/b.mp3"})
    media_host.expect_request("/b.mp3").respond_with_data("", status=307, headers={"Location": "/c.mp3"})
    media_host.expect_request("/c.mp3").respond_with_data("", status=301, headers={"Location": secret})
    refused(client_for(fake, policy=PUBLIC), media_host.url_for("/a.mp3"))
    assert [r.path for r, _ in media_host.log] == ["/a.mp3", "/b.mp3", "/c.mp3"]
    assert secret_fetches(httpserver) == 0 and fake.requests == []


def test_a_redirect_loop_stops_with_a_4xx(fake: FakeV3, net: NetGuard, media_host: HTTPServer) -> None:
    media_host.expect_request("/loop.mp3").respond_with_data("", status=302, headers={"Location": "/loop.mp3"})
    error = refused(client_for(fake, policy=PUBLIC), media_host.url_for("/loop.mp3"))
    assert error.status_code == 400 and "redirected" in error.body["error"]
    assert len(media_host.log) == 6  # the URL and five redirects, then it stops
    assert fake.requests == []


# DNS answers that mix or change -------------------------------------------------------------------


def test_a_name_with_one_internal_answer_among_public_ones_is_refused(
    fake: FakeV3, net: NetGuard, media_host: HTTPServer
) -> None:
    media_host.expect_request("/x.mp3").respond_with_data(b"x" * 100, content_type="audio/mpeg")
    net.names["mixed.example"] = ["127.0.0.2", "127.0.0.1"]
    refused(client_for(fake, policy=PUBLIC), f"http://mixed.example:{media_host.port}/x.mp3")
    assert len(media_host.log) == 0 and fake.requests == []


def test_rebinding_on_a_redirect_hop_is_caught_when_connecting(
    fake: FakeV3, net: NetGuard, media_host: HTTPServer, httpserver: HTTPServer, secret: str
) -> None:
    net.rebinding("rebind.example", ["127.0.0.2"], ["127.0.0.1"])  # the check sees public, the socket internal
    location = f"http://rebind.example:{httpserver.port}/secret"
    media_host.expect_request("/x.mp3").respond_with_data("", status=302, headers={"Location": location})
    assert refused(client_for(fake, policy=PUBLIC), media_host.url_for("/x.mp3")).status_code == 422
    assert secret_fetches(httpserver) == 0 and fake.requests == []


def test_rebinding_in_the_background_mode_fails_the_job_and_fetches_nothing(
    fake: FakeV3, net: NetGuard, httpserver: HTTPServer, secret: str
) -> None:
    net.rebinding("rebind.example", ["127.0.0.2"], ["127.0.0.2"], ["127.0.0.1"])
    client = client_for(fake, policy=PUBLIC, media_source_mode="background")
    url = f"http://rebind.example:{httpserver.port}/secret"
    session_id = client.create_session("en", media_source=url)["result"]["session_id"]
    assert client.translator.wait_for_transfers(10)
    result = client.get_result(session_id)["result"]
    assert result["status"] == "failed" and "media_source" in result["error"]
    assert secret_fetches(httpserver) == 0 and fake.uploads == {}


# The same refusals through install() and the gateway -----------------------------------------------

FRONT_URLS = ["http://0x7f.1/x.mp3", "http://[::ffff:a9fe:a9fe]/latest/meta-data/", "http://internal.example/"]


@pytest.mark.parametrize("url", FRONT_URLS)
def test_install_and_the_gateway_refuse_the_same_way(fake: FakeV3, net: NetGuard, url: str) -> None:
    net.names["internal.example"] = ["127.0.0.1"]
    body = {"language": "en", "media_source": url}
    with compat.install(base_url=fake.base_url, legacy_base_url=LEGACY, store=":memory:"):
        intercepted = requests.post(LEGACY + SESSIONS, json=body, headers={"x-zoom-s2t-key": TOKEN}, timeout=10)
    app = make_app(fake.base_url, store=":memory:")
    try:
        served = Client(app).post(SESSIONS, json=body, headers={"x-zoom-s2t-key": TOKEN})
    finally:
        app.close()
    for status, payload in ((intercepted.status_code, intercepted.json()), (served.status_code, served.json)):
        assert status == 422 and "media_source" in payload["error"]
    assert net.escapes == [] and fake.requests == []


def test_a_media_host_that_answers_slowly_with_a_redirect_is_still_checked(
    fake: FakeV3, net: NetGuard, media_host: HTTPServer, httpserver: HTTPServer, secret: str
) -> None:
    """The body of a refused redirect is never read into the upload (nothing of it goes upstream)."""

    def redirect(request: Request) -> Response:
        return Response(os.urandom(64 * 1024), status=302, headers={"Location": secret}, content_type="audio/mpeg")

    media_host.expect_request("/x.mp3").respond_with_handler(redirect)
    refused(client_for(fake, policy=PUBLIC), media_host.url_for("/x.mp3"))
    assert secret_fetches(httpserver) == 0 and fake.uploads == {} and fake.requests == []
