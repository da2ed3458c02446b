"""Fetching a V1 ``media_source`` URL without becoming an SSRF proxy.

Only http and https are fetched. Before connecting, the host is resolved and every address must
be public: loopback, private, link-local (cloud metadata at 169.254.169.254 included), shared,
multicast, reserved and unspecified addresses are refused, in any spelling (decimal, octal, IPv6,
IPv4-mapped IPv6). The same check runs again on the socket actually connected, so a DNS answer
that changes between the check and the connection (rebinding) is caught, and again on every
redirect. Every redirect target first gets the very check of form the original URL got
(:func:`compat.urls.is_http_url`): a bad port or host is a :class:`MediaURLError`, never a
``ValueError``. ``allow_private_media=True`` lifts the address rule for local testing.

Every refusal is a :class:`MediaError` whose message says what is wrong and whose ``status`` is the
HTTP status that fits; the translator turns it into the V1 answer the caller sees.
"""

from __future__ import annotations

import ipaddress
import mimetypes
import socket
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import unquote, urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from compat.urls import is_http_url

__all__ = [
    "AddressPolicy",
    "MediaAddressError",
    "MediaContentError",
    "MediaDownload",
    "MediaDownloadError",
    "MediaError",
    "MediaFetcher",
    "MediaURLError",
    "media_filename",
]

MAX_REDIRECTS = 5
REDIRECT_TARGET = "media_source redirect target"
ANSWER_TIMEOUT = (10.0, 60.0)
# Cloud metadata services that are not caught as link-local or private by the ipaddress module.
_METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("fd00:ec2::254"), ipaddress.ip_address("192.0.0.192")}  # AWS IPv6, Oracle Cloud
)
# IPv6 prefixes whose low 32 bits are an IPv4 address a router or the host may reach.
_IPV4_IN_LOW_BITS = (
    ipaddress.ip_network("64:ff9b::/96"),  # NAT64, well-known prefix
    ipaddress.ip_network("64:ff9b:1::/48"),  # NAT64, local use
    ipaddress.ip_network("::/96"),  # IPv4-compatible (deprecated)
    ipaddress.ip_network("::ffff:0:0:0/96"),  # IPv4-translated (SIIT)
)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address an IPv6 address carries: mapped, 6to4, Teredo, NAT64, compatible, translated."""
    found = [a for a in (ip.ipv4_mapped, ip.sixtofour) if a is not None]
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if any(ip in network for network in _IPV4_IN_LOW_BITS):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


class MediaError(Exception):
    """``media_source`` cannot be used; the message says why, ``status`` is the HTTP status that fits."""

    status = 400


class MediaURLError(MediaError):
    """Not a well-formed http(s) URL with a host (the URL itself, or a redirect's target)."""

    status = 422


class MediaAddressError(MediaError):
    """The host resolves to (or the connection reached) an address the policy does not permit."""

    status = 422

    def __init__(self) -> None:
        super().__init__(
            "media_source must be a public http(s) URL; loopback, private, link-local and metadata addresses "
            "are refused (allow_private_media=True lifts this for local testing)"
        )


class MediaDownloadError(MediaError):
    """The download failed: no such host, no connection or answer, an error status, too large, too
    many redirects."""


class MediaContentError(MediaError):
    """The URL answered something that is not audio or video (an HTML page, JSON)."""

    status = 415


class MediaRefused(Exception):
    """Raised inside a connection when the peer address is not allowed."""


class AddressPolicy:
    """Which addresses the shim may fetch media from."""

    def __init__(self, *, allow_private: bool = False, also_allow: Iterable[str] = ()) -> None:
        self.allow_private = allow_private
        self.also_allow = [ipaddress.ip_network(n) for n in also_allow]

    def permits(self, address: str) -> bool:
        """Whether ``address`` may be fetched: public, and so is every IPv4 address it embeds."""
        if self.allow_private:
            return True
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        candidates: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [ip]
        if isinstance(ip, ipaddress.IPv6Address):
            candidates.extend(_embedded_ipv4(ip))
        if any(candidate in network for candidate in candidates for network in self.also_allow):
            return True
        return all(
            candidate.is_global and not candidate.is_multicast and candidate not in _METADATA_ADDRESSES
            for candidate in candidates
        )

    def check_host(self, host: str, port: int) -> None:
        """Resolve ``host`` and refuse it unless every address it has is permitted."""
        try:
            answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            raise MediaDownloadError(f"media_source host {host!r} cannot be resolved") from None
        for *_, sockaddr in answers:
            if not self.permits(str(sockaddr[0])):
                raise MediaAddressError()


def _guarded_adapter(current_policy: Callable[[], AddressPolicy]) -> HTTPAdapter:
    def check(sock: socket.socket) -> None:
        peer = sock.getpeername()[0]
        if not current_policy().permits(peer):
            sock.close()
            raise MediaRefused(peer)

    class GuardedHTTPConnection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            check(sock)
            return sock

    class GuardedHTTPSConnection(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            check(sock)
            return sock

    class GuardedHTTPPool(HTTPConnectionPool):
        ConnectionCls = GuardedHTTPConnection

    class GuardedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = GuardedHTTPSConnection

    class GuardedAdapter(HTTPAdapter):
        scriptix_compat_internal = True  # media downloads are the shim's own traffic (compat.install)

        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": GuardedHTTPPool, "https": GuardedHTTPSPool}

    return GuardedAdapter(max_retries=0)


def media_filename(url: str) -> str:
    """The V1 filename for a ``media_source``: the URL with every ``:`` and ``/`` made ``-``."""
    return url.replace(":", "-").replace("/", "-")


@dataclass
class MediaDownload:
    """An open download: the body stream, its declared size and media type."""

    url: str
    stream: IO[bytes]
    size: int | None
    filetype: str
    filename: str
    response: requests.Response

    def close(self) -> None:
        self.response.close()


class _CappedStream:
    """A read-only stream that refuses to go past ``cap`` bytes."""

    def __init__(self, raw: IO[bytes], cap: int) -> None:
        self._raw = raw
        self._cap = cap
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size if size and size > 0 else 1 << 20)
        self.read_bytes += len(data)
        if self.read_bytes > self._cap:
            raise MediaDownloadError(f"media_source is larger than {self._cap} bytes")
        return data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


class _ManualRedirects(requests.Session):
    """A session that never works out a redirect itself: :class:`MediaFetcher` follows each one by
    hand, after checking its target. (Even with ``allow_redirects=False``, requests parses the
    ``Location`` of a redirect to offer ``Response.next``, and an unparsable one raised ``ValueError``.)"""

    def resolve_redirects(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        return iter(())


class MediaFetcher:
    """Opens ``media_source`` URLs under an :class:`AddressPolicy`, following redirects by hand."""

    def __init__(self, policy: AddressPolicy, *, max_bytes: int, timeout: tuple[float, float] = ANSWER_TIMEOUT) -> None:
        self.policy = policy
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.session: requests.Session = _ManualRedirects()
        self.session.trust_env = False
        adapter = _guarded_adapter(lambda: self.policy)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def check(self, url: str, *, where: str = "media_source") -> None:
        """Refuse a URL that is not a valid http(s) URL or whose resolved host is not allowed.

        The form is checked by :func:`~compat.urls.is_http_url`, the very check the V1 body's
        ``media_source`` gets; ``where`` names the URL in the refusal. No connection is made.
        """
        if not is_http_url(url):
            raise MediaURLError(f"'{where}' must be an http(s) URL")
        parts = urlsplit(url)
        self.policy.check_host(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))

    def open(self, url: str) -> MediaDownload:
        """Start the download: status and headers are read, the body is left to stream."""
        current, where = url, "media_source"
        for _ in range(MAX_REDIRECTS + 1):
            self.check(current, where=where)
            try:
                response = self.session.get(current, stream=True, timeout=self.timeout, allow_redirects=False)
            except MediaRefused:
                raise MediaAddressError() from None
            except requests.ConnectionError as exc:
                if _caused_by_refusal(exc):
                    raise MediaAddressError() from None
                raise MediaDownloadError("media_source could not be downloaded (connection failed)") from None
            except requests.RequestException:
                raise MediaDownloadError("media_source could not be downloaded (no answer)") from None
            if response.is_redirect:
                location = response.headers.get("Location", "")
                response.close()
                current, where = _redirect_target(current, location), REDIRECT_TARGET
                continue
            if response.status_code != 200:
                response.close()
                raise MediaDownloadError(f"media_source answered HTTP {response.status_code}")
            size = _content_length(response)
            if size is not None and size > self.max_bytes:
                response.close()
                raise MediaDownloadError(f"media_source is larger than {self.max_bytes} bytes")
            try:
                filetype = _filetype(response, current)
            except MediaError:
                response.close()
                raise
            response.raw.decode_content = True
            return MediaDownload(
                url=current,
                stream=_CappedStream(response.raw, self.max_bytes),  # type: ignore[arg-type]
                size=size,
                filetype=filetype,
                filename=media_filename(url),
                response=response,
            )
        raise MediaDownloadError(f"media_source redirected more than {MAX_REDIRECTS} times")


def _redirect_target(current: str, location: str) -> str:
    """``Location`` resolved against the URL that answered it; as it came when it cannot be resolved
    (``http://[bad``), so that :meth:`MediaFetcher.check` refuses it like any other malformed URL."""
    try:
        return urljoin(current, location)
    except ValueError:
        return location


def _caused_by_refusal(exc: BaseException) -> bool:
    current: BaseException | None = exc
    seen = 0
    while current is not None and seen < 10:
        seen += 1
        if isinstance(current, MediaRefused):
            return True
        reason = getattr(current, "reason", None)
        nested = current.args[0] if current.args and isinstance(current.args[0], BaseException) else None
        current = reason if isinstance(reason, BaseException) else nested or current.__context__
    return False


def _content_length(response: requests.Response) -> int | None:
    value = response.headers.get("Content-Length", "")
    return int(value) if value.isdigit() else None


GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})


def _filetype(response: requests.Response, url: str) -> str:
    """The media type of a download: declared audio/video, else guessed from the URL when the
    declaration is generic; anything else (an HTML page, JSON) is not media: 415."""
    declared = response.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    if declared.startswith(("audio/", "video/")):
        return declared
    if declared not in GENERIC_TYPES:
        raise MediaContentError(f"media_source answered {declared}, not audio or video")
    guessed, _ = mimetypes.guess_type(unquote(urlsplit(url).path))
    return guessed if guessed and guessed.startswith(("audio/", "video/")) else "application/octet-stream"
