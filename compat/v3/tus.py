"""TUS 1.0.0 uploads built on tuspy, with the gaps it leaves covered by subclassing.

tuspy (``tusclient``) gives the protocol skeleton: metadata encoding, chunk arithmetic, the
``Storage`` and ``Fingerprint`` interfaces. It sends no timeouts, reads each chunk into memory,
retries with a fixed 30 s delay, has no progress callback and no termination. Here:

* :class:`TusEndpoint` (a ``TusClient``) routes every request through our :class:`Transport`
  (pooled session, timeouts, auth, retries of HEAD/POST by the transport's rules);
* :class:`StreamingPatch` (a ``TusRequest``) streams each chunk from the source in blocks, so
  memory does not grow with the file or with the chunk;
* :class:`ResumableUploader` (an ``Uploader``) resumes from the server's offset after any
  failure (HEAD), with backoff, persists the upload URL in the store, reports monotonic
  progress, and terminates the upload (DELETE) when cancelled.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Mapping
from typing import IO, Any, NoReturn
from urllib.parse import urljoin

import requests
from tusclient.client import TusClient
from tusclient.request import TusRequest
from tusclient.uploader.uploader import Uploader

from compat.errors import (
    APIConnectionError,
    APIStatusError,
    ScriptixError,
    UploadCancelledError,
    UploadError,
)
from compat.redact import install_log_filter
from compat.store import SQLiteStore, StoreError
from compat.v3.source import UploadSource
from compat.v3.transport import Transport, error_from_response, parse_retry_after

__all__ = ["ProgressCallback", "ResumableUploader", "StreamingPatch", "TusEndpoint"]

log = logging.getLogger("compat.tus")
install_log_filter(log)

ProgressCallback = Callable[[int, int], None]

TUS_VERSION = "1.0.0"
# Answers to a PATCH after which the server's offset is asked for and the upload goes on.
RESUMABLE_PATCH_STATUSES = frozenset({408, 409, 423, 429, 460}) | frozenset(range(500, 600))
# Answers to HEAD that mean the upload no longer exists on the server.
GONE_STATUSES = frozenset({403, 404, 410})


class _UploadGone(Exception):
    """The server no longer knows the upload (expired, terminated, or never ours)."""


class _Cancelled(Exception):
    """Raised inside a streamed body when the caller cancels."""


class TusEndpoint(TusClient):  # type: ignore[misc]
    """A tuspy ``TusClient`` for one creation URL whose requests go through a :class:`Transport`.

    The token is kept off tuspy's ``headers`` so that nothing of tuspy's ever holds it.
    """

    def __init__(self, url: str, transport: Transport, *, token: str | None = None) -> None:
        super().__init__(url if url.endswith("/") else url + "/")
        self.transport = transport
        self._token = token

    def __repr__(self) -> str:
        return f"TusEndpoint({self.url!r})"

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        return self.transport.request(method, url, token=self._token, **kwargs)

    def send_once(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        return self.transport.send_once(method, url, token=self._token, **kwargs)

    def terminate(self, upload_url: str) -> None:
        """DELETE an upload (termination extension); an upload already gone is not an error."""
        response = self.request("DELETE", upload_url, headers={"Tus-Resumable": TUS_VERSION}, raise_for_status=False)
        if response.status_code >= 400 and response.status_code not in GONE_STATUSES:
            raise error_from_response(response, method="DELETE")

    def options(self) -> requests.Response:
        """OPTIONS on the creation URL: ``Tus-Version``, ``Tus-Extension``, ``Tus-Max-Size``."""
        return self.request("OPTIONS", self.url)


class _ChunkBody:
    """A request body that reads at most ``length`` bytes from ``stream`` as the socket asks."""

    def __init__(
        self,
        stream: IO[bytes],
        length: int,
        *,
        on_read: Callable[[int], None],
        cancelled: threading.Event | None,
    ) -> None:
        self._stream = stream
        self._remaining = length
        self._length = length
        self._on_read = on_read
        self._cancelled = cancelled

    def __len__(self) -> int:
        return self._length

    def read(self, size: int = -1) -> bytes:
        if self._cancelled is not None and self._cancelled.is_set():
            raise _Cancelled()
        if self._remaining <= 0:
            return b""
        wanted = self._remaining if size is None or size < 0 else min(size, self._remaining)
        data = self._stream.read(wanted)
        self._remaining -= len(data)
        if data:
            self._on_read(len(data))
        elif self._remaining > 0:
            raise UploadError("the source ended before its announced size (was it changed during the upload?)")
        return data


class StreamingPatch(TusRequest):  # type: ignore[misc]
    """tuspy's ``TusRequest`` with the chunk streamed through our transport, never held whole."""

    uploader: ResumableUploader

    def __init__(self, uploader: ResumableUploader) -> None:
        super().__init__(uploader)
        self.uploader = uploader

    def perform(self) -> None:
        start = self.uploader.offset
        sent = 0

        def on_read(count: int) -> None:
            nonlocal sent
            sent += count
            self.uploader.report_progress(start + sent)

        body = _ChunkBody(self.file, self._content_length, on_read=on_read, cancelled=self.uploader.cancelled)
        response = self.uploader.endpoint.send_once("PATCH", self._url, headers=self._request_headers, data=body)
        self.status_code = response.status_code
        self.response_content = response.content
        self.response_headers = {k.lower(): v for k, v in response.headers.items()}
        self.retry_after = parse_retry_after(response.headers.get("Retry-After"))
        self.response = response


class ResumableUploader(Uploader):  # type: ignore[misc]
    """One TUS upload of one source; create it, then call :meth:`upload`.

    Not thread-safe (one uploader, one thread); :attr:`cancelled` may be set from any thread.
    """

    url: str | None
    offset: int

    def __init__(
        self,
        endpoint: TusEndpoint,
        source: UploadSource,
        *,
        metadata: Mapping[str, str],
        chunk_size: int,
        store: SQLiteStore,
        token_digest: str,
        on_progress: ProgressCallback | None = None,
        cancelled: threading.Event | None = None,
    ) -> None:
        self.source = source
        super().__init__(
            file_stream=source.stream,
            client=endpoint,
            chunk_size=chunk_size,
            metadata=dict(metadata),
            retries=0,
            store_url=False,
        )
        self.endpoint = endpoint
        self.store = store
        self.on_progress = on_progress
        self.cancelled = cancelled
        self.resume_key = _resume_key(source.fingerprint, endpoint.url, metadata, token_digest)
        self.resumed_from: int | None = None
        self._reported = -1

    # tuspy overrides ---------------------------------------------------------------------

    def get_headers(self) -> dict[str, str]:
        # Auth is added by the transport; nothing of tuspy's holds the token.
        return {"Tus-Resumable": TUS_VERSION}

    def get_url_creation_headers(self) -> dict[str, str]:
        headers = self.get_headers()
        headers["Upload-Length"] = str(self.get_file_size())
        encoded = self.encode_metadata()
        if encoded:  # an empty Upload-Metadata header breaks the spec and @tus/server
            headers["Upload-Metadata"] = ",".join(encoded)
        return headers

    def get_file_size(self) -> int:
        return self.source.size

    def get_file_stream(self) -> IO[bytes]:
        return self.source.stream

    def create_url(self) -> str:
        """POST a new upload; repeated only where the server cannot have acted (transport rules)."""
        response = self.endpoint.request("POST", self.endpoint.url, headers=self.get_url_creation_headers())
        location = response.headers.get("Location")
        if not location:
            raise UploadError(
                f"the TUS server answered {response.status_code} to the creation without a Location header",
                status_code=response.status_code,
            )
        return str(urljoin(self.endpoint.url, location))

    def set_url(self, url: str) -> None:
        """Remember the new upload's URL; without a record, the upload could not be resumed.

        If the store cannot take it (disk full, read-only), the upload just created is terminated
        and the error raised: going on would risk a second upload of the same bytes after a crash.
        """
        self.url = url
        try:
            self.store.set_item(self.resume_key, url)
        except StoreError as exc:
            try:
                self.endpoint.terminate(url)
            except ScriptixError as cleanup:
                log.warning("could not terminate %s after a store failure: %s", url, cleanup)
            raise UploadError(
                f"upload not started: {exc}", upload_url=None, status_code=exc.status_code, body=exc.body
            ) from exc

    def _forget(self) -> None:
        """Drop the finished (or terminated) upload's record; a store failure here is only logged."""
        try:
            self.store.remove_item(self.resume_key)
        except StoreError as exc:
            log.warning("could not remove the finished upload from the store: %s", exc)

    def get_offset(self, *, retry: bool = True) -> int:
        """HEAD the upload; the server's offset. Raises ``_UploadGone`` on 403/404/410."""
        if not self.url:
            raise _UploadGone()
        response = self.endpoint.request(
            "HEAD", self.url, headers=self.get_headers(), raise_for_status=False, retry=retry
        )
        if response.status_code in GONE_STATUSES:
            raise _UploadGone()
        if response.status_code >= 400:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise error_from_response(response, method="HEAD", retry_after=retry_after)
        offset = _int_header(response, "Upload-Offset")
        length = _int_header(response, "Upload-Length")
        if offset is None or offset < 0:
            raise UploadError("the TUS server answered HEAD without a valid Upload-Offset", upload_url=self.url)
        if length is not None and length != self.source.size:
            # Same key, different length: not this file's upload; start afresh.
            raise _UploadGone()
        return min(offset, self.source.size)

    def upload_chunk(self) -> None:
        """One PATCH from the current offset; raises on failure, advances ``offset`` on success."""
        self.request = StreamingPatch(self)
        self.request.perform()
        status = self.request.status_code
        if status in GONE_STATUSES:
            raise _UploadGone()
        if not 200 <= status < 300:
            raise _PatchFailed(status, self.request)
        new_offset = _int_value(self.request.response_headers.get("upload-offset"))
        if new_offset is None or not self.offset < new_offset <= self.source.size:
            raise _PatchFailed(status, self.request, reason="an invalid Upload-Offset")
        self.offset = new_offset

    # the upload ---------------------------------------------------------------------------

    def report_progress(self, done: int) -> None:
        """Tell the callback about ``done`` bytes, only ever moving forward."""
        if self.on_progress is not None and done > self._reported:
            self._reported = done
            self.on_progress(done, self.source.size)

    def upload(self, stop_at: int | None = None) -> None:
        """Create or resume the upload and send every byte; resumes after any failure.

        Every failed attempt (a PATCH, or the HEAD that asks the offset after it) counts against
        ``max_retries``; the count starts again whenever the server's offset moves forward, so a
        long upload over a flaky link goes on while it makes progress, and a dead one stops.
        """
        self.stop_at = self.source.size
        self._open()
        self.report_progress(self.offset)
        policy = self.endpoint.transport.policy
        failures = 0
        confirmed = self.offset
        restarted = False
        need_offset = False
        while need_offset or self.offset < self.stop_at:
            error: ScriptixError
            retry_after: float | None = None
            try:
                self._raise_if_cancelled()
                if need_offset:
                    self.offset = self.get_offset(retry=False)
                    need_offset = False
                else:
                    self.upload_chunk()
                if self.offset > confirmed:
                    confirmed, failures = self.offset, 0
                continue
            except _Cancelled:
                self._terminate_cancelled()
            except _UploadGone:
                if restarted:
                    raise UploadError("the server lost the upload twice", upload_url=self.url) from None
                log.info("upload %s is gone on the server; starting a new one", self.url)
                restarted, need_offset = True, False
                self._create()
                confirmed = 0
                continue
            except _PatchFailed as failed:
                error, retry_after = failed.as_error(self.url), failed.retry_after
                if failed.reason is None and failed.status not in RESUMABLE_PATCH_STATUSES:
                    raise error from None
            except APIStatusError as exc:  # the HEAD after a failure answered an error
                if exc.status_code not in RESUMABLE_PATCH_STATUSES:
                    raise
                error, retry_after = exc, exc.retry_after
            except APIConnectionError as exc:
                error = exc
            failures += 1
            if policy.hint_too_long(retry_after):
                raise error  # the server asks for a longer pause than allowed: its own typed error
            if failures > policy.max_retries:
                raise UploadError(
                    f"upload stopped at byte {self.offset} of {self.source.size} after "
                    f"{failures} failed attempts: {error}; run the same upload again to resume",
                    upload_url=self.url,
                    status_code=error.status_code,
                ) from error
            wait = policy.delay(failures, retry_after)
            log.info("TUS %s failed (%s); asking the offset in %.2f s", self.url, error, wait)
            self.endpoint.transport.sleep(wait)
            need_offset = True
        self._forget()
        self.report_progress(self.source.size)

    def terminate(self) -> None:
        """DELETE the upload on the server and forget it locally."""
        if self.url:
            self.endpoint.terminate(self.url)
        self._forget()

    # helpers ------------------------------------------------------------------------------

    def _open(self) -> None:
        stored = self.store.get_item(self.resume_key)
        if stored:
            self.url = stored
            try:
                self.offset = self.get_offset()
                self.resumed_from = self.offset
                log.info("resuming %s at byte %d of %d", stored, self.offset, self.source.size)
                return
            except _UploadGone:
                log.info("stored upload %s is gone; starting a new one", stored)
                self.store.remove_item(self.resume_key)
        self._create()

    def _create(self) -> None:
        self._raise_if_cancelled_outside_body()
        self.url = None
        self.set_url(self.create_url())
        self.offset = 0

    def _raise_if_cancelled(self) -> None:
        if self.cancelled is not None and self.cancelled.is_set():
            raise _Cancelled()

    def _raise_if_cancelled_outside_body(self) -> None:
        if self.cancelled is not None and self.cancelled.is_set():
            self._terminate_cancelled()

    def _terminate_cancelled(self) -> NoReturn:
        try:
            self.terminate()
        except ScriptixError as exc:
            raise UploadCancelledError(
                f"upload cancelled; terminating it on the server failed: {exc}", upload_url=self.url
            ) from exc
        raise UploadCancelledError("upload cancelled and terminated on the server", upload_url=self.url)


class _PatchFailed(Exception):
    def __init__(self, status: int, request: StreamingPatch, *, reason: str | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.reason = reason
        self.retry_after = getattr(request, "retry_after", None)
        self.response: requests.Response | None = getattr(request, "response", None)

    def as_error(self, upload_url: str | None) -> ScriptixError:
        if self.reason is not None:
            return UploadError(
                f"PATCH answered {self.status} with {self.reason}", upload_url=upload_url, status_code=self.status
            )
        if self.response is not None:
            return error_from_response(self.response, method="PATCH", retry_after=self.retry_after)
        return APIStatusError(f"PATCH answered {self.status}", status_code=self.status)


def _resume_key(fingerprint: str, endpoint: str, metadata: Mapping[str, str], token_digest: str) -> str:
    """What identifies one upload across processes: the bytes, where they go, what binds them, whose."""
    material = json.dumps(
        {"fingerprint": fingerprint, "endpoint": endpoint, "metadata": dict(metadata), "token": token_digest},
        sort_keys=True,
    )
    return hashlib.sha256(material.encode()).hexdigest()


def _int_value(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _int_header(response: requests.Response, name: str) -> int | None:
    return _int_value(response.headers.get(name))
