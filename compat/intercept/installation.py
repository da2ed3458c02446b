"""One installation: the ``V3Client`` + ``Translator`` built from its options, serving legacy calls."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from compat.errors import ScriptixError
from compat.frontdoor import routes
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
    """One ``V3Client`` + ``Translator`` serving the legacy calls (Batch V1, Zoom Media v1/v2) to the legacy URLs."""

    def __init__(self, options: InterceptOptions, *, via: str) -> None:
        self.options = options
        self.via = via
        self.targets = options.targets
        self.v3 = V3Client(settings=options.options, store=options.store)
        self.translator = Translator(self.v3, options.options)
        # Requests to a legacy URL that are not legacy calls go where the shim's own calls go.
        self.upstream = self.v3.settings.base_url

    def close(self) -> None:
        """Close the connection pools, and the store if it was opened here (not one given as
        ``store=``); a transfer still running runs to its end, and that is closed once it has ended."""
        self.translator.close()
        self.translator.transfers.after(self.v3.close)

    def serve(self, request: requests.PreparedRequest, connection: HTTPAdapter) -> requests.Response | None:
        """The answer to ``request`` if it is a legacy call to a legacy URL; ``None`` to let it pass."""
        found = self.targets.find(request.url or "")
        if found is None:
            return None
        _, path = found
        method = (request.method or "").upper()
        generation = routes.match(method, path)
        if generation is None:
            return None
        query = urlsplit(request.url or "").query
        call = routes.prepare(V1Request(method, path, request.headers, stream_of(request.body), query=query))
        # strict mode raises LegacyCallError here, before anything is sent
        on_legacy_call(call.staging_name, caller_site(), self.via)
        log.debug("serving %s %s %s", generation, method, path)
        try:
            answer = routes.dispatch(self.translator, call)
        except ScriptixError as exc:  # dispatch raises only when no upstream answer came
            raise no_answer(exc, request) from exc
        return response_to(request, answer, connection)

    def onward(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """What to send for a request the shim does not serve (:meth:`serve` answered ``None``).

        When the upstream (``base_url``) is not the legacy URL the request is for, it is sent to the
        upstream instead, as the gateway proxies to its own: a copy with the same method, headers
        and body, its path below the legacy prefix and its query on ``base_url``. So a test whose
        ``base_url`` is an emulator never reaches production with the caller's token, and the other
        calls to ``api.zoommedia.ai`` (which has no V3) go to Scriptix. Any other request (and
        every request to the legacy URL that is the upstream itself) is returned as it is.
        """
        found = self.targets.find(request.url or "")
        if found is None:
            return request
        target, _ = found
        if target.relative_path(self.upstream) == "/":  # this legacy URL is the upstream: nothing to move
            return request
        url = target.rebased(request.url or "", self.upstream)
        if url is None:
            return request
        moved = request.copy()
        moved.url = url
        log.debug("sending %s to the upstream %s", request.method, self.upstream)
        return moved
