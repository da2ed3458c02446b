"""``install()`` and ``mount()``: V1 calls made with plain ``requests`` are served by the shim.

>>> import compat, requests
>>> handle = compat.install()                                            # doctest: +SKIP
>>> requests.post("https://api.scriptix.io/api/v3/speech-to-text/session",
...               json={"language": "en"}, headers={"x-zoom-s2t-key": token})  # doctest: +SKIP
<Response [200]>
>>> handle.uninstall()                                                   # doctest: +SKIP

What is intercepted: the five V1 calls (create session, PUT upload, ``/align``, ``GET …/result``,
``DELETE …/{id}``, as matched by :func:`compat.frontdoor.batch_v1.match`) and the three Zoom Media API
v1/v2 calls (create, upload, status/captions: :func:`compat.frontdoor.zoommedia.match`) sent to a
legacy URL (scheme, host, port and path prefix must match): ``https://api.scriptix.io`` and
``https://api.zoommedia.ai`` by default, or the one ``legacy_base_url``; the path picks the front door
(:mod:`compat.frontdoor.routes`). They are answered by the one
:class:`~compat.translate.Translator` with a real :class:`requests.Response`; a V1 refusal or an
upstream error is a response with that status and the V1 error JSON (``raise_for_status()`` raises as
before). When no answer came from upstream at all, the caller gets the
:class:`requests.ConnectionError` / :class:`requests.Timeout` plain ``requests`` would have raised.
Everything else goes to the network unchanged. A request to the legacy URL that is not a V1 call
goes where the shim's own calls go: to the legacy host itself when ``base_url`` is the legacy URL
(production, the default), else to ``base_url`` (an emulator in a test, a staging host), as the
gateway proxies to its upstream: same method, headers and body, the path below the legacy prefix
and the query appended to ``base_url`` (:meth:`Installation.onward
<compat.intercept.installation.Installation.onward>`). So a test that points the shim at an emulator
never sends the caller's token to production. Requests to any other URL are left alone.

How (the design):

* ``install()`` replaces one attribute, ``requests.adapters.HTTPAdapter.send``, with a wrapper.
  Every HTTP(S) request of every ``requests.Session`` (those made before or after ``install()``,
  and the throw-away session ``requests.post(...)`` creates per call) ends in ``HTTPAdapter.send``
  with the fully prepared request (method, URL, headers, body). The wrapper serves it when it is a
  V1 call to the legacy URL and otherwise calls the original ``send`` with the same arguments
  (with the request moved onto ``base_url`` when it was for the legacy URL and ``base_url`` is elsewhere).
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
parser (parts larger than 500 KB are spooled to temporary files), via :mod:`compat.frontdoor.batch_v1`.

Each installation builds one :class:`~compat.V3Client` and one translator from its options (those
of :class:`compat.LegacyClient` without ``api_key``: the token comes from each intercepted
request's ``x-zoom-s2t-key`` or ``Authorization: Bearer`` header). The caller's ``timeout``,
``verify``, ``cert`` and ``proxies`` do not apply to translated calls: the shim's own settings do.

The modules, one job each: :mod:`~compat.intercept.target` (the legacy URLs),
:mod:`~compat.intercept.options` (validating the options of ``install()`` and ``mount()``),
:mod:`~compat.intercept.bodies` (a prepared request's body as a binary stream),
:mod:`~compat.intercept.responses` (V1 answers as ``requests`` responses and exceptions),
:mod:`~compat.intercept.installation` (one ``V3Client`` + ``Translator`` serving V1 calls),
:mod:`~compat.intercept.handle` (:class:`InstallHandle`), :mod:`~compat.intercept.patch`
(``install()``: the ``HTTPAdapter.send`` wrapper) and :mod:`~compat.intercept.mounting` (``mount()``).
"""

from __future__ import annotations

from compat.intercept import patch
from compat.intercept.handle import InstallHandle
from compat.intercept.mounting import mount
from compat.intercept.patch import install

__all__ = ["InstallHandle", "install", "mount"]


def __getattr__(name: str) -> object:
    """The two private names of the single-module version, kept for the test suite's cleanup.

    ``_installed`` is the live state of :mod:`compat.intercept.patch` (``None`` when not installed),
    read at each access; ``_release_install`` drops one handle of it.
    """
    if name == "_installed":
        return patch.current()
    if name == "_release_install":
        return patch.release_install
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
