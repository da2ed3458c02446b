"""One installation: the ``V3Client`` + ``Translator`` built from its options, serving V1 calls."""

from __future__ import annotations

import io
import json
import logging

import requests
from requests.adapters import HTTPAdapter

from compat.errors import ScriptixError
from compat.intercept.bodies import read_small, stream_of
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
        body = stream_of(request.body)
        if operation == "create_session":
            raw = read_small(body, routes.MAX_JSON_BODY)
            body = io.BytesIO(raw)
            name = _staging_name(operation, raw)
        else:
            name = operation
        notice(name, via=self.via)  # strict mode raises LegacyCallError here, before anything is sent
        log.debug("serving V1 %s %s", method, path)
        try:
            answer = routes.dispatch(self.translator, routes.V1Request(method, path, headers, body))
        except ScriptixError as exc:  # dispatch raises only when no upstream answer came
            raise no_answer(exc, request) from exc
        return response_to(request, answer, connection)


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _staging_name(operation: routes.Operation, body: bytes) -> str:
    """The staging name of a V1 call (a create with ``media_source`` is its own operation)."""
    if operation != "create_session":
        return operation
    try:
        fields = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return operation
    return "media_source" if isinstance(fields, dict) and fields.get("media_source") is not None else operation
