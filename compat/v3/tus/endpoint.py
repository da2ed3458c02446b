"""One TUS creation URL spoken to through our :class:`~compat.v3.transport.Transport`.

Each method is one request of the protocol: creation (``POST``), the offset (``HEAD``), one
streamed ``PATCH``, termination (``DELETE``) and discovery (``OPTIONS``). The transport brings the
pooled session, the timeouts, the auth header and its retry rules; which failures to resume from
is the uploader's business.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple
from urllib.parse import urljoin

import requests

from compat.errors import UploadError
from compat.v3.source import Chunk
from compat.v3.transport import Transport, error_from_response, parse_retry_after
from compat.v3.tus.protocol import GONE_STATUSES, creation_headers, int_value, patch_headers, tus_headers

__all__ = ["TusEndpoint", "UploadGone", "UploadState"]


class UploadGone(Exception):
    """The server no longer knows the upload (expired, terminated, or never ours)."""


class UploadState(NamedTuple):
    """What ``HEAD`` says of an upload: the bytes the server holds, the announced length, and
    whether the length is still deferred (``Upload-Defer-Length: 1``)."""

    offset: int
    length: int | None
    deferred: bool = False


class TusEndpoint:
    """The TUS creation URL ``url`` (``/api/v3/files/``), its uploads, and whom to act as.

    The token is kept here, not in any header mapping, and handed to the transport per request.
    """

    def __init__(self, url: str, transport: Transport, *, token: str | None = None) -> None:
        # A trailing slash, so that a relative Location ("abc") resolves under the endpoint.
        self.url = url if url.endswith("/") else url + "/"
        self.transport = transport
        self._token = token

    def __repr__(self) -> str:
        return f"TusEndpoint({self.url!r})"

    def create(self, length: int | None, metadata: Mapping[str, str]) -> str:
        """``POST`` a new upload of ``length`` bytes (None: deferred length); its absolute URL.

        Repeated only where the server cannot have acted (the transport's rules for POST).
        """
        response = self._request("POST", self.url, headers=creation_headers(length, metadata))
        location = response.headers.get("Location")
        if not location:
            raise UploadError(
                f"the TUS server answered {response.status_code} to the creation without a Location header",
                status_code=response.status_code,
            )
        return urljoin(self.url, location)

    def state(self, upload_url: str, *, retry: bool = True) -> UploadState:
        """``HEAD`` an upload. Raises :class:`UploadGone` on 403/404/410, a typed error on others."""
        response = self._request("HEAD", upload_url, headers=tus_headers(), raise_for_status=False, retry=retry)
        if response.status_code in GONE_STATUSES:
            raise UploadGone()
        if response.status_code >= 400:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise error_from_response(response, method="HEAD", retry_after=retry_after)
        offset = int_value(response.headers.get("Upload-Offset"))
        if offset is None:
            raise UploadError("the TUS server answered HEAD without a valid Upload-Offset", upload_url=upload_url)
        length = int_value(response.headers.get("Upload-Length"))
        deferred = length is None and response.headers.get("Upload-Defer-Length", "").strip() == "1"
        return UploadState(offset, length, deferred)

    def patch(
        self, upload_url: str, offset: int, body: Chunk, *, upload_length: int | None = None
    ) -> requests.Response:
        """One ``PATCH`` of ``body`` at ``offset``, streamed, never repeated; the answer as it came.

        ``upload_length`` declares the length of a deferred-length upload. A connection failure
        raises :class:`~compat.errors.APIConnectionError`; any status is returned for the
        uploader to judge.
        """
        headers = patch_headers(offset, upload_length)
        return self.transport.send_once("PATCH", upload_url, token=self._token, headers=headers, data=body)

    def terminate(self, upload_url: str) -> None:
        """``DELETE`` an upload (termination extension); an upload already gone is not an error."""
        response = self._request("DELETE", upload_url, headers=tus_headers(), raise_for_status=False)
        if response.status_code >= 400 and response.status_code not in GONE_STATUSES:
            raise error_from_response(response, method="DELETE")

    def options(self) -> requests.Response:
        """``OPTIONS`` on the creation URL: ``Tus-Version``, ``Tus-Extension``, ``Tus-Max-Size``."""
        return self._request("OPTIONS", self.url)

    def _request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        return self.transport.request(method, url, token=self._token, **kwargs)
