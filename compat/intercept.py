"""``install()`` and ``mount()``: V1 calls made with plain ``requests`` are served by the shim.

>>> import compat, requests
>>> handle = compat.install()                                            # doctest: +SKIP
>>> requests.post("https://api.scriptix.io/api/v3/speech-to-text/session",
...               json={"language": "en"}, headers={"x-zoom-s2t-key": token})  # doctest: +SKIP
<Response [200]>
>>> handle.uninstall()                                                   # doctest: +SKIP

What is intercepted: the five V1 calls (create session, PUT upload, ``/align``, ``GET …/result``,
``DELETE …/{id}``, as matched by :func:`compat.v1.routes.match`) sent to ``legacy_base_url``
(scheme, host, port and path prefix must match). They are answered by the one
:class:`~compat.translate.Translator` with a real :class:`requests.Response`; a V1 refusal or an
upstream error is a response with that status and the V1 error JSON (``raise_for_status()`` raises as
before). When no answer came from upstream at all, the caller gets the
:class:`requests.ConnectionError` / :class:`requests.Timeout` plain ``requests`` would have raised.
Everything else, including every other path on the legacy host, goes to the network untouched.

How (the design):

* ``install()`` replaces one attribute, ``requests.adapters.HTTPAdapter.send``, with a wrapper.
  Every HTTP(S) request of every ``requests.Session`` (those made before or after ``install()``,
  and the throw-away session ``requests.post(...)`` creates per call) ends in ``HTTPAdapter.send``
  with the fully prepared request (method, URL, headers, body). The wrapper serves it when it is a
  V1 call to the legacy URL and otherwise calls the original ``send`` with the same arguments.
  ``Session.get_adapter`` is left alone on purpose: wrapping it would hand every caller of
  ``session.get_adapter(url)`` a foreign object (whose ``max_retries`` they may set) and would
  jump ahead of adapters the application mounted itself (a test double stays in charge).
* The shim's own upstream requests are never intercepted, even when ``base_url ==
  legacy_base_url`` (production): they go through adapters that carry the marker of
  :func:`compat.v3.transport.is_internal_adapter` (the transport's streaming adapter, so a
  ``V3Client`` the application uses for its migrated call sites is not intercepted either, and
  the media fetcher's guarded adapter). Both pass straight to the original ``send``.
* ``mount(session)`` mounts a shim adapter on that one session for the legacy URL prefix; requests
  to that prefix that are not V1 calls go on to the adapter the session would otherwise use.

``install()`` is idempotent: while installed, a second call with the same options returns another
handle to the same installation (reference counted: requests are restored when every handle has
been uninstalled); with different options it raises :class:`compat.ConfigurationError`.
``uninstall()`` puts back the very object that was there (``HTTPAdapter.send is original``); if
another library patched ``send`` on top of the shim in the meantime, its patch is left in place
and the shim's wrapper becomes a pass-through.

Bodies: a PUT body given as bytes, a file or a generator/iterator is streamed into the TUS upload
(an iterator is read block by block; what cannot seek is spooled to a temporary file by the
uploader, never held whole in memory). ``/align`` bodies are parsed by Werkzeug's streaming form
parser (parts larger than 500 KB are spooled to temporary files), via :mod:`compat.v1.routes`.

Each installation builds one :class:`~compat.V3Client` and one translator from its options (those
of :class:`compat.LegacyClient` without ``api_key``: the token comes from each intercepted
request's ``x-zoom-s2t-key`` or ``Authorization: Bearer`` header). The caller's ``timeout``,
``verify``, ``cert`` and ``proxies`` do not apply to translated calls: the shim's own settings do.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import os
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import IO, Any, cast
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

from compat.config import DEFAULT_BASE_URL
from compat.errors import APITimeoutError, ConfigurationError, ScriptixError
from compat.staging.notice import notice
from compat.store import SQLiteStore
from compat.translate import DEFAULT_MAX_MEDIA_BYTES, AlignStrategy, MediaSourceMode, Translator
from compat.v1 import routes
from compat.v1.validation import UnknownFields
from compat.v3.client import V3Client
from compat.v3.transport import is_internal_adapter

__all__ = ["InstallHandle", "install", "mount"]

log = logging.getLogger("compat.intercept")

_PATCHED = "send"  # the one attribute install() replaces, on requests.adapters.HTTPAdapter
_DEFAULT_PORTS = {"http": 80, "https": 443}
_ITER_BUFFER = 64 * 1024  # read-ahead of a generator body; its blocks are copied, never joined


# The legacy URL ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _LegacyTarget:
    """Scheme, host, port and path prefix that legacy callers send V1 calls to."""

    url: str
    scheme: str
    host: str
    port: int
    path: str

    @classmethod
    def parse(cls, url: str) -> _LegacyTarget:
        text = str(url).strip().rstrip("/")
        shown = "<a URL with credentials>" if "@" in text else repr(text)
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError:
            raise ConfigurationError(
                f"option 'legacy_base_url': {shown} is not an http(s) URL", option="legacy_base_url"
            ) from None
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise ConfigurationError(
                f"option 'legacy_base_url': {shown} is not an http(s) URL such as https://api.scriptix.io",
                option="legacy_base_url",
            )
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ConfigurationError(
                f"option 'legacy_base_url': {shown} is not a plain URL (no query, fragment or credentials)",
                option="legacy_base_url",
            )
        return cls(text, scheme, parts.hostname, port or _DEFAULT_PORTS[scheme], parts.path.rstrip("/"))

    def relative_path(self, url: str) -> str | None:
        """The path of ``url`` below the legacy base (query dropped), or ``None`` if not the legacy URL."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return None
        scheme = parts.scheme.lower()
        if scheme != self.scheme or parts.hostname != self.host:
            return None
        if (port or _DEFAULT_PORTS.get(scheme)) != self.port:
            return None
        path = parts.path or "/"
        if not self.path:
            return path
        if path == self.path or path.startswith(self.path + "/"):
            return path[len(self.path) :] or "/"
        return None

    @property
    def mount_prefix(self) -> str:
        """The ``Session.mount`` prefix: ends in ``/`` so ``api.scriptix.io.example`` is not matched."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = "" if self.port == _DEFAULT_PORTS[self.scheme] else f":{self.port}"
        return f"{self.scheme}://{host}{port}{self.path}/"


# Request bodies ------------------------------------------------------------------------------------


class _IterStream(io.RawIOBase):
    """A generator or iterator of ``bytes`` (or ``str``, sent as UTF-8 like urllib3 does) as a binary stream."""

    def __init__(self, chunks: Iterable[Any]) -> None:
        super().__init__()
        self._chunks: Iterator[Any] = iter(chunks)
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            if isinstance(chunk, str):
                chunk = chunk.encode("utf-8")
            if not isinstance(chunk, bytes | bytearray | memoryview):
                raise TypeError(f"a request body iterator must yield bytes, not {type(chunk).__name__}")
            self._pending = memoryview(chunk).cast("B")
        size = min(len(view), len(self._pending))
        view[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def _stream_of(body: Any) -> IO[bytes] | None:
    """The prepared request body as a binary stream, without reading it whole."""
    if body is None:
        return None
    if isinstance(body, bytes | bytearray | memoryview):
        return io.BytesIO(body)
    if isinstance(body, str):  # urllib3 sends a str body as UTF-8
        return io.BytesIO(body.encode("utf-8"))
    if isinstance(body, io.TextIOBase):
        text = cast(IO[str], body)
        return _buffered(iter(lambda: text.read(_ITER_BUFFER), ""))
    if hasattr(body, "read"):
        return cast(IO[bytes], body)
    if isinstance(body, Iterable):
        return _buffered(body)
    raise TypeError(f"cannot send a request body of type {type(body).__name__}")


def _buffered(chunks: Iterable[Any]) -> IO[bytes]:
    # BufferedReader.read(n) gathers n bytes across chunks (a raw read may return one chunk only).
    return cast(IO[bytes], io.BufferedReader(_IterStream(chunks), buffer_size=_ITER_BUFFER))


def _read_small(stream: IO[bytes] | None, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of a create-session body (JSON is small; the route refuses more)."""
    if stream is None:
        return b""
    parts: list[bytes] = []
    size = 0
    while size <= limit:
        block = stream.read(limit + 1 - size)
        if not block:
            break
        parts.append(block)
        size += len(block)
    return b"".join(parts)


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


# Answers -------------------------------------------------------------------------------------------


def _response(request: requests.PreparedRequest, answer: routes.V1Answer, connection: HTTPAdapter) -> requests.Response:
    """A ``requests.Response`` as ``HTTPAdapter.build_response`` makes one from a server's answer."""
    payload = answer.content()
    headers = {**answer.headers, "Content-Length": str(len(payload))}
    try:
        reason = HTTPStatus(answer.status).phrase
    except ValueError:
        reason = ""
    raw = urllib3.HTTPResponse(
        body=io.BytesIO(payload),
        headers=headers,
        status=answer.status,
        reason=reason,
        preload_content=False,
        decode_content=False,
        request_method=request.method,
        request_url=request.url,
    )
    response = requests.Response()
    response.status_code = answer.status
    response.headers = CaseInsensitiveDict(headers)
    response.encoding = get_encoding_from_headers(response.headers)
    response.raw = raw
    response.reason = reason
    response.url = request.url or ""
    response.request = request
    response.connection = connection
    return response


def _no_answer(exc: ScriptixError, request: requests.PreparedRequest) -> requests.RequestException:
    """The exception plain ``requests`` raises when no answer came (the shim's upstream had none)."""
    causes: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in causes:
        causes.append(current)
        current = current.__cause__ or current.__context__
    error_class: type[requests.RequestException] = requests.ConnectionError
    if any(isinstance(c, requests.ConnectTimeout) for c in causes):
        error_class = requests.ConnectTimeout
    elif any(isinstance(c, APITimeoutError | requests.Timeout) for c in causes):
        error_class = requests.ReadTimeout
    return error_class(str(exc), request=request)


def _operation(operation: routes.Operation, body: bytes) -> str:
    """The staging name of a V1 call (a create with ``media_source`` is its own operation)."""
    if operation != "create_session":
        return operation
    try:
        fields = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return operation
    return "media_source" if isinstance(fields, dict) and fields.get("media_source") is not None else operation


# One installation ----------------------------------------------------------------------------------


class _Installation:
    """One ``V3Client`` + ``Translator`` serving V1 calls to one legacy URL."""

    def __init__(self, options: dict[str, Any], *, via: str) -> None:
        self.options = options
        self.via = via
        self.target = _LegacyTarget.parse(options["legacy_base_url"])
        extra = dict(options["settings"])
        self.v3 = V3Client(
            None,
            options["base_url"],
            timeout=options["timeout"],
            max_retries=options["max_retries"],
            chunk_size=options["chunk_size"],
            store=options["store"],
            **extra,
        )
        self.translator = Translator(
            self.v3,
            allow_private_media=options["allow_private_media"],
            media_source_mode=options["media_source_mode"],
            align_strategy=options["align_strategy"],
            unknown_fields=options["unknown_fields"],
            document_type=options["document_type"],
            max_media_bytes=options["max_media_bytes"],
        )

    def close(self) -> None:
        """Close the connection pools (a transfer still running reopens what it needs)."""
        self.v3.close()
        self.translator.fetcher.session.close()

    def serve(self, request: requests.PreparedRequest, connection: HTTPAdapter) -> requests.Response | None:
        """The answer to ``request`` if it is a V1 call to the legacy URL; ``None`` to let it pass."""
        path = self.target.relative_path(request.url or "")
        if path is None:
            return None
        method = (request.method or "").upper()
        found = routes.match(method, path)
        if found is None:
            return None
        operation, _ = found
        headers = {str(name): _text(value) for name, value in request.headers.items()}
        body = _stream_of(request.body)
        if operation == "create_session":
            raw = _read_small(body, routes.MAX_JSON_BODY)
            body = io.BytesIO(raw)
            name = _operation(operation, raw)
        else:
            name = operation
        notice(name, via=self.via)  # strict mode raises LegacyCallError here, before anything is sent
        log.debug("serving V1 %s %s", method, path)
        try:
            answer = routes.dispatch(self.translator, routes.V1Request(method, path, headers, body))
        except ScriptixError as exc:  # dispatch raises only when no upstream answer came
            raise _no_answer(exc, request) from exc
        return _response(request, answer, connection)


# install() -------------------------------------------------------------------------------------------


class _Slot:
    """What a patched ``send`` serves; emptied on uninstall, so a wrapper left behind passes through."""

    def __init__(self, installation: _Installation) -> None:
        self.installation: _Installation | None = installation


def _is_internal(adapter: HTTPAdapter) -> bool:
    return is_internal_adapter(adapter)


def _intercepting(original: Callable[..., requests.Response], slot: _Slot) -> Callable[..., requests.Response]:
    @functools.wraps(original)
    def send(self: HTTPAdapter, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        installation = slot.installation
        if installation is not None and not _is_internal(self):
            response = installation.serve(request, self)
            if response is not None:
                return response
        return original(self, request, *args, **kwargs)

    return send


@dataclass
class _Installed:
    installation: _Installation
    slot: _Slot
    original: Callable[..., requests.Response]
    wrapper: Callable[..., requests.Response]
    handles: int


_lock = threading.Lock()
_installed: _Installed | None = None


class InstallHandle:
    """A live interception: ``uninstall()`` (or leaving the ``with`` block) removes it.

    ``translator`` and ``v3`` are the installation's :class:`~compat.translate.Translator` and
    :class:`~compat.V3Client`; ``legacy_base_url`` is the URL whose V1 calls are served.
    ``uninstall()`` may be called more than once; only the first call counts.
    """

    def __init__(self, installation: _Installation, release: Callable[[], None]) -> None:
        self._installation = installation
        self._release = release
        self._live = True
        self._lock = threading.Lock()

    @property
    def translator(self) -> Translator:
        return self._installation.translator

    @property
    def v3(self) -> V3Client:
        return self._installation.v3

    @property
    def legacy_base_url(self) -> str:
        return self._installation.target.url

    @property
    def installed(self) -> bool:
        """Whether this handle has not been uninstalled yet."""
        return self._live

    def uninstall(self) -> None:
        """Stop serving V1 calls through this handle and restore what was there before."""
        with self._lock:
            if not self._live:
                return
            self._live = False
        self._release()

    def __enter__(self) -> InstallHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.uninstall()

    def __repr__(self) -> str:
        state = "installed" if self._live else "uninstalled"
        return f"<InstallHandle {self._installation.via} legacy_base_url={self.legacy_base_url!r} {state}>"


def _options(
    legacy_base_url: str,
    base_url: str | None,
    timeout: float | None,
    max_retries: int | None,
    chunk_size: int | str | None,
    store: str | os.PathLike[str] | SQLiteStore | None,
    allow_private_media: bool,
    media_source_mode: MediaSourceMode,
    align_strategy: AlignStrategy,
    unknown_fields: UnknownFields,
    document_type: str,
    max_media_bytes: int,
    settings: Mapping[str, Any],
) -> dict[str, Any]:
    if "api_key" in settings:
        raise ConfigurationError(
            "install() and mount() take no api_key: the token comes from each intercepted request's "
            "x-zoom-s2t-key (or Authorization: Bearer) header",
            option="api_key",
        )
    target = _LegacyTarget.parse(legacy_base_url)
    return {
        "legacy_base_url": target.url,
        "base_url": base_url,
        "timeout": timeout,
        "max_retries": max_retries,
        "chunk_size": chunk_size,
        "store": os.fspath(store) if isinstance(store, os.PathLike) else store,
        "allow_private_media": allow_private_media,
        "media_source_mode": media_source_mode,
        "align_strategy": align_strategy,
        "unknown_fields": unknown_fields,
        "document_type": document_type,
        "max_media_bytes": max_media_bytes,
        "settings": dict(settings),
    }


def install(
    *,
    legacy_base_url: str = DEFAULT_BASE_URL,
    base_url: str | None = None,
    timeout: float | None = None,
    max_retries: int | None = None,
    chunk_size: int | str | None = None,
    store: str | os.PathLike[str] | SQLiteStore | None = None,
    allow_private_media: bool = False,
    media_source_mode: MediaSourceMode = "sync",
    align_strategy: AlignStrategy = "tus",
    unknown_fields: UnknownFields = "forward",
    document_type: str = "caption",
    max_media_bytes: int = DEFAULT_MAX_MEDIA_BYTES,
    **settings: Any,
) -> InstallHandle:
    """Serve V1 calls made with ``requests`` (any session, and ``requests.post(...)`` & co.) on V3.

    ``legacy_base_url`` is where the legacy code sends its V1 calls (``https://api.scriptix.io``);
    ``base_url`` is the shim's upstream (default: the same host, from ``SCRIPTIX_BASE_URL`` if set).
    The other options are :class:`compat.LegacyClient`'s, plus any :class:`compat.Settings` field
    (``connect_timeout``, ``backoff_base``, ...); there is no ``api_key``: each request brings its token.

    Calling it again while installed with the same options returns another handle to the same
    installation (requests are restored once every handle is uninstalled); with other options it
    raises :class:`compat.ConfigurationError`. Use the handle as a context manager, or call
    ``handle.uninstall()``.
    """
    global _installed
    options = _options(
        legacy_base_url,
        base_url,
        timeout,
        max_retries,
        chunk_size,
        store,
        allow_private_media,
        media_source_mode,
        align_strategy,
        unknown_fields,
        document_type,
        max_media_bytes,
        settings,
    )
    with _lock:
        if _installed is not None:
            if _installed.installation.options != options:
                raise ConfigurationError(
                    "compat.install() is already active with other options; uninstall it first",
                    option="install",
                )
            _installed.handles += 1
            return InstallHandle(_installed.installation, _release_install)
        installation = _Installation(options, via="compat.install()")
        original = vars(HTTPAdapter)[_PATCHED]
        slot = _Slot(installation)
        wrapper = _intercepting(original, slot)
        setattr(HTTPAdapter, _PATCHED, wrapper)
        _installed = _Installed(installation, slot, original, wrapper, handles=1)
    log.debug("installed: V1 calls to %s are served on %s", installation.target.url, installation.v3.settings.base_url)
    return InstallHandle(installation, _release_install)


def _release_install() -> None:
    global _installed
    with _lock:
        current = _installed
        if current is None:
            return
        current.handles -= 1
        if current.handles > 0:
            return
        current.slot.installation = None
        if vars(HTTPAdapter).get(_PATCHED) is current.wrapper:
            setattr(HTTPAdapter, _PATCHED, current.original)
        else:
            log.warning(
                "HTTPAdapter.send was patched again after compat.install(); leaving that patch in place "
                "(the shim's wrapper under it now passes every request through)"
            )
        _installed = None
    current.installation.close()


# mount() ---------------------------------------------------------------------------------------------


class _MountedAdapter(HTTPAdapter):
    """The shim for one session: serves V1 calls, hands anything else to the session's next adapter."""

    def __init__(self, installation: _Installation, session: requests.Session) -> None:
        super().__init__(pool_connections=1, pool_maxsize=1)
        self._installation = installation
        self._session = weakref.ref(session)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        response = self._installation.serve(request, self)
        if response is not None:
            return response
        return self._next_adapter(request.url or "").send(request, *args, **kwargs)

    def _next_adapter(self, url: str) -> BaseAdapter:
        """The adapter ``session.get_adapter(url)`` would return without this one."""
        session = self._session()
        if session is not None:
            for prefix, adapter in session.adapters.items():
                if adapter is not self and url.lower().startswith(prefix.lower()):
                    return adapter
        return HTTPAdapter()


def mount(
    session: requests.Session,
    *,
    legacy_base_url: str = DEFAULT_BASE_URL,
    base_url: str | None = None,
    timeout: float | None = None,
    max_retries: int | None = None,
    chunk_size: int | str | None = None,
    store: str | os.PathLike[str] | SQLiteStore | None = None,
    allow_private_media: bool = False,
    media_source_mode: MediaSourceMode = "sync",
    align_strategy: AlignStrategy = "tus",
    unknown_fields: UnknownFields = "forward",
    document_type: str = "caption",
    max_media_bytes: int = DEFAULT_MAX_MEDIA_BYTES,
    **settings: Any,
) -> InstallHandle:
    """Serve V1 calls made through ``session`` only; other sessions and ``requests.post`` are untouched.

    Mounts a shim adapter on ``session`` for the ``legacy_base_url`` prefix (options as for
    :func:`install`). ``handle.uninstall()`` unmounts it and puts back the adapter that was mounted
    at that exact prefix before, if any.
    """
    if not isinstance(session, requests.Session):
        raise TypeError(f"mount() takes a requests.Session, not {type(session).__name__}")
    options = _options(
        legacy_base_url,
        base_url,
        timeout,
        max_retries,
        chunk_size,
        store,
        allow_private_media,
        media_source_mode,
        align_strategy,
        unknown_fields,
        document_type,
        max_media_bytes,
        settings,
    )
    installation = _Installation(options, via="compat.mount()")
    prefix = installation.target.mount_prefix
    adapter = _MountedAdapter(installation, session)
    previous = session.adapters.get(prefix)
    session.mount(prefix, adapter)

    def release() -> None:
        if session.adapters.get(prefix) is adapter:
            del session.adapters[prefix]
            if previous is not None:
                session.mount(prefix, previous)
        installation.close()

    return InstallHandle(installation, release)
