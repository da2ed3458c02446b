"""One installation: the ``V3Client`` + ``Translator`` built from its options, serving V1 calls."""

from __future__ import annotations

import logging

import requests
from requests.adapters import HTTPAdapter

from compat.errors import ScriptixError
from compat.frontdoor import batch_v1
from compat.frontdoor.http import V1Request
from compat.hooks import caller_site, on_legacy_call
from compat.intercept.bodies import stream_of
from compat.intercept.options import InterceptOptions
from compat.intercept.responses import no_answer, response_to
from compat.translate import Translator
from compat.v3.client import V3Client

__all__ = ["Installation"]

log = logging.getLogger("compat.intercept")


class Installation:
    """One ``V3Client`` + ``Translator`` serving V1 calls to one legacy URL."""

    def __init__(self, options: InterceptOptions, *, via: str) -> None:
        self.options = options
        self.via = via
        self.target = options.target
        self.v3 = V3Client(settings=options.options, store=options.store)
        self.translator = Translator(self.v3, options.options)
        # Requests to the legacy URL that are not V1 calls go where the shim's own calls go.
        self.upstream = self.v3.settings.base_url
        self.rebases = self.target.relative_path(self.upstream) != "/"

    def close(self) -> None:
        """Close the connection pools (a transfer still running reopens what it needs)."""
        self.translator.close()
        self.v3.close()

    def serve(self, request: requests.PreparedRequest, connection: HTTPAdapter) -> requests.Response | None:
        """The answer to ``request`` if it is a V1 call to the legacy URL; ``None`` to let it pass."""
        path = self.target.relative_path(request.url or "")
        if path is None:
            return None
        method = (request.method or "").upper()
        found = batch_v1.match(method, path)
        if found is None:
            return None
        call = batch_v1.prepare(V1Request(method, path, request.headers, stream_of(request.body)))
        # strict mode raises LegacyCallError here, before anything is sent
        on_legacy_call(call.staging_name, caller_site(), self.via)
        log.debug("serving V1 %s %s", method, path)
        try:
            answer = batch_v1.dispatch(self.translator, call)
        except ScriptixError as exc:  # dispatch raises only when no upstream answer came
            raise no_answer(exc, request) from exc
        return response_to(request, answer, connection)

    def onward(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """What to send for a request the shim does not serve (:meth:`serve` answered ``None``).

        When the upstream (``base_url``) is not the legacy URL, a request to the legacy URL is sent
        to the upstream instead, as the gateway proxies to its own: a copy with the same method,
        headers and body, its path below the legacy prefix and its query on ``base_url``. So a test
        whose ``base_url`` is an emulator never reaches production with the caller's token. Any
        other request (and every request when both URLs are the same) is returned as it is.
        """
        if not self.rebases:
            return request
        url = self.target.rebased(request.url or "", self.upstream)
        if url is None:
            return request
        moved = request.copy()
        moved.url = url
        log.debug("sending %s to the upstream %s", request.method, self.upstream)
        return moved
