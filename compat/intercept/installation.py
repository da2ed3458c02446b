"""One installation: the ``V3Client`` + ``Translator`` built from its options, serving V1 calls."""

from __future__ import annotations

import logging

import requests
from requests.adapters import HTTPAdapter

from compat.errors import ScriptixError
from compat.intercept.bodies import stream_of
from compat.intercept.options import InterceptOptions
from compat.intercept.responses import no_answer, response_to
from compat.staging.notice import notice
from compat.translate import Translator
from compat.v1 import routes
from compat.v3.client import V3Client

__all__ = ["Installation"]

log = logging.getLogger("compat.intercept")


class Installation:
    """One ``V3Client`` + ``Translator`` serving V1 calls to one legacy URL."""

    def __init__(self, options: InterceptOptions, *, via: str) -> None:
        self.options = options
        self.via = via
        self.target = options.target
        self.v3 = V3Client(
            None,
            options.base_url,
            timeout=options.timeout,
            max_retries=options.max_retries,
            chunk_size=options.chunk_size,
            store=options.store,
            **dict(options.settings),
        )
        self.translator = Translator(
            self.v3,
            allow_private_media=options.allow_private_media,
            media_source_mode=options.media_source_mode,
            align_strategy=options.align_strategy,
            unknown_fields=options.unknown_fields,
            document_type=options.document_type,
            max_media_bytes=options.max_media_bytes,
            allow_insecure_webhooks=options.allow_insecure_webhooks,
        )
        # Requests to the legacy URL that are not V1 calls go where the shim's own calls go.
        self.upstream = self.v3.settings.base_url
        self.rebases = self.target.relative_path(self.upstream) != "/"

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
        call = routes.prepare(routes.V1Request(method, path, request.headers, stream_of(request.body)))
        notice(call.staging_name, via=self.via)  # strict mode raises LegacyCallError here, before anything is sent
        log.debug("serving V1 %s %s", method, path)
        try:
            answer = routes.dispatch(self.translator, call)
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
