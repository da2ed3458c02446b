"""Helpers of the security suite (also used by tests/property): a network that never leaves loopback.

:class:`NetGuard` replaces name resolution and the connections the shim makes through urllib3:

* names resolve only from its table (``guard.names["media.example"] = ["127.0.0.2"]``, or a list of
  answers taken one per lookup, to change an answer between the check and the connection);
  ``localhost`` and numeric spellings (``127.1``, ``0x7f.1``, IPv6 literals, IDNA look-alikes such as
  ``ⓛⓞⓒⓐⓛⓗⓞⓢⓣ``) resolve as the system would, without DNS; any other name does not resolve;
* a connection to an address outside 127.0.0.0/8 and ``::1`` is never made: it is recorded in
  :attr:`NetGuard.escapes` and refused, so a test can tell "refused by the shim's policy" from
  "allowed by the policy, failed by the network".
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest
import urllib3.util.connection
from fake_v3 import FakeV3
from pytest_httpserver import HTTPServer

__all__ = ["LEGACY", "SESSIONS", "TOKEN", "NetGuard", "fake", "is_loopback", "net"]

TOKEN = "security-token-3e9b41d7"
LEGACY = "https://api.scriptix.io"  # intercepted by compat.install(); never reached
SESSIONS = "/api/v3/speech-to-text/session"

Answer = list[str]


def is_loopback(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def _ascii(host: Any) -> str:
    name = host.decode() if isinstance(host, bytes) else str(host)
    try:
        return name.encode("idna").decode("ascii").lower()  # what getaddrinfo itself would look up
    except UnicodeError:
        return name.lower()


def _numeric(name: str) -> bool:
    try:
        socket.inet_aton(name)
        return True
    except OSError:
        pass
    try:
        ipaddress.ip_address(name.strip("[]").split("%", 1)[0])
        return True
    except ValueError:
        return False


class NetGuard:
    """See the module docstring. Install with :meth:`install` (a ``MonkeyPatch`` undoes it)."""

    def __init__(self) -> None:
        self.names: dict[str, Answer | list[Answer]] = {}
        self.lookups: list[str] = []
        self.escapes: list[tuple[str, int]] = []
        self._real_getaddrinfo = socket.getaddrinfo
        self._real_connect = urllib3.util.connection.create_connection

    def install(self, monkeypatch: pytest.MonkeyPatch) -> NetGuard:
        monkeypatch.setattr(socket, "getaddrinfo", self.getaddrinfo)
        monkeypatch.setattr(urllib3.util.connection, "create_connection", self.create_connection)
        return self

    def rebinding(self, name: str, *answers: Answer) -> None:
        """``name`` answers ``answers[0]`` to the first lookup, then the next; the last one stays."""
        self.names[name] = list(answers)

    def _answer(self, name: str) -> Answer:
        entry = self.names[name]
        if entry and isinstance(entry[0], list):
            sequence: list[Answer] = entry  # type: ignore[assignment]
            return sequence.pop(0) if len(sequence) > 1 else sequence[0]
        return entry  # type: ignore[return-value]

    def getaddrinfo(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = _ascii(host)
        self.lookups.append(name)
        if name in self.names:
            answers = self._answer(name)
            return [
                item
                for address in answers
                for item in self._real_getaddrinfo(address, port, *args, **kwargs)  # numeric: no DNS
            ]
        if name.rstrip(".") == "localhost":  # from /etc/hosts, never from DNS
            return self._real_getaddrinfo("localhost", port, *args, **kwargs)
        if _numeric(name):
            return self._real_getaddrinfo(host, port, *args, **kwargs)
        raise socket.gaierror(socket.EAI_NONAME, f"the tests resolve no name outside their table ({name})")

    def create_connection(self, address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        host, port = address
        resolved = [info[4][0] for info in self.getaddrinfo(host, port, 0, socket.SOCK_STREAM)]
        outside = [a for a in resolved if not is_loopback(str(a))]
        if outside:
            self.escapes.append((str(outside[0]), int(port)))
            raise ConnectionRefusedError(f"the tests never connect outside loopback ({outside[0]})")
        return self._real_connect(address, *args, **kwargs)


# Fixtures, imported by the conftests of tests/security and tests/property --------------------------


@pytest.fixture
def net(monkeypatch: pytest.MonkeyPatch) -> NetGuard:
    """Names resolve only from the test's table; nothing connects outside loopback (see NetGuard)."""
    return NetGuard().install(monkeypatch)


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeV3:
    """The scripted V3 fake on 127.0.0.1 (``localhost``); its server also plays the internal host."""
    return FakeV3(httpserver, token=TOKEN)
