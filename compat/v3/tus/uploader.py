"""The upload loop: create or resume one upload, stream its chunks, recover from failures.

:class:`ResumableUploader` sends a :class:`~compat.v3.source.ChunkSource` to a
:class:`~compat.v3.tus.endpoint.TusEndpoint`. It asks the source for the chunk at the server's
offset and never seeks a stream itself; it keeps the upload URL in a store so that another
process can resume it; after any failure it asks the server's offset (``HEAD``) and goes on from
there, with the transport's backoff and ``Retry-After`` rules; progress only moves forward; a
cancelled upload is terminated (``DELETE``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Mapping
from typing import NoReturn, Protocol

import requests

from compat.errors import (
    APIConnectionError,
    APIStatusError,
    ScriptixError,
    UploadCancelledError,
    UploadError,
)
from compat.redact import install_log_filter
from compat.store import StoreError
from compat.v3.source import Chunk, ChunkSource
from compat.v3.transport import error_from_response, parse_retry_after
from compat.v3.tus.endpoint import TusEndpoint, UploadGone
from compat.v3.tus.protocol import GONE_STATUSES, RESUMABLE_PATCH_STATUSES, int_value

__all__ = ["ProgressCallback", "ResumableUploader", "UrlStore", "resume_key"]

log = logging.getLogger("compat.tus")
install_log_filter(log)

ProgressCallback = Callable[[int, int], None]


class UrlStore(Protocol):
    """Where upload URLs outlive the process, by resume key: tuspy's public ``Storage`` contract.

    :class:`~compat.store.SQLiteStore` implements it; a failure raises
    :class:`~compat.store.StoreError`.
    """

    def get_item(self, key: str) -> str | None: ...

    def set_item(self, key: str, url: str) -> None: ...

    def remove_item(self, key: str) -> None: ...


class _Cancelled(Exception):
    """The caller cancelled; raised between requests or from inside a streamed body."""


class _PatchFailed(Exception):
    """A PATCH answered something other than a valid success."""

    def __init__(self, response: requests.Response, *, reason: str | None = None) -> None:
        super().__init__(response.status_code)
        self.status = response.status_code
        self.reason = reason
        self.retry_after = parse_retry_after(response.headers.get("Retry-After"))
        self.response = response

    @property
    def resumable(self) -> bool:
        """Whether asking the offset and going on may help (an invalid success always may)."""
        return self.reason is not None or self.status in RESUMABLE_PATCH_STATUSES

    def as_error(self, upload_url: str | None) -> ScriptixError:
        if self.reason is not None:
            return UploadError(
                f"PATCH answered {self.status} with {self.reason}", upload_url=upload_url, status_code=self.status
            )
        return error_from_response(self.response, method="PATCH", retry_after=self.retry_after)


class _MeteredBody:
    """A chunk as the request body: reports each block read and stops when cancelled."""

    def __init__(self, chunk: Chunk, *, on_read: Callable[[int], None], cancelled: threading.Event | None) -> None:
        self._chunk = chunk
        self._on_read = on_read
        self._cancelled = cancelled

    def __len__(self) -> int:
        return len(self._chunk)

    def read(self, size: int = -1) -> bytes:
        if self._cancelled is not None and self._cancelled.is_set():
            raise _Cancelled()
        data = self._chunk.read(size)
        if data:
            self._on_read(len(data))
        return data


class ResumableUploader:
    """One TUS upload of one source; create it, then call :meth:`upload`.

    Not thread-safe (one uploader, one thread); :attr:`cancelled` may be set from any thread.
    After :meth:`upload`, :attr:`url` is the upload's URL and :attr:`resumed_from` the offset
    it was resumed at (``None`` for a new upload).
    """

    def __init__(
        self,
        endpoint: TusEndpoint,
        source: ChunkSource,
        *,
        metadata: Mapping[str, str],
        chunk_size: int,
        store: UrlStore,
        token_digest: str,
        on_progress: ProgressCallback | None = None,
        cancelled: threading.Event | None = None,
    ) -> None:
        if chunk_size < 1:
            raise ValueError("chunk_size must be at least 1 byte")
        self.endpoint = endpoint
        self.source = source
        self.metadata = dict(metadata)
        self.chunk_size = chunk_size
        self.store = store
        self.on_progress = on_progress
        self.cancelled = cancelled
        self.resume_key = resume_key(source.fingerprint, endpoint.url, metadata, token_digest)
        self.url: str | None = None
        self.offset = 0
        self.resumed_from: int | None = None
        self._reported = -1

    def __repr__(self) -> str:
        return f"ResumableUploader(url={self.url!r}, offset={self.offset}, size={self.source.size})"

    # the upload ---------------------------------------------------------------------------

    def upload(self) -> None:
        """Create or resume the upload and send every byte; resumes after any failure.

        Every failed attempt (a PATCH, or the HEAD that asks the offset after it) counts against
        ``max_retries``; the count starts again whenever the server's offset moves forward, so a
        long upload over a flaky link goes on while it makes progress, and a dead one stops.
        """
        self._open()
        self.report_progress(self.offset)
        policy = self.endpoint.transport.policy
        failures = 0
        confirmed = self.offset
        restarted = False
        need_offset = False
        while need_offset or self.offset < self.source.size:
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
            except UploadGone:
                if restarted:
                    raise UploadError("the server lost the upload twice", upload_url=self.url) from None
                log.info("upload %s is gone on the server; starting a new one", self.url)
                restarted, need_offset = True, False
                self._create()
                confirmed = 0
                continue
            except _PatchFailed as failed:
                error, retry_after = failed.as_error(self.url), failed.retry_after
                if not failed.resumable:
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

    def upload_chunk(self) -> None:
        """One PATCH from :attr:`offset`; raises on failure, advances :attr:`offset` on success."""
        if self.url is None:
            raise UploadGone()
        start = self.offset
        sent = 0

        def on_read(count: int) -> None:
            nonlocal sent
            sent += count
            self.report_progress(start + sent)

        body = _MeteredBody(self.source.chunk(start, self.chunk_size), on_read=on_read, cancelled=self.cancelled)
        response = self.endpoint.patch(self.url, start, body)
        if response.status_code in GONE_STATUSES:
            raise UploadGone()
        if not 200 <= response.status_code < 300:
            raise _PatchFailed(response)
        new_offset = int_value(response.headers.get("Upload-Offset"))
        if new_offset is None or not start < new_offset <= start + len(body):
            raise _PatchFailed(response, reason="an invalid Upload-Offset")
        self.offset = new_offset

    def get_offset(self, *, retry: bool = True) -> int:
        """HEAD the upload; the server's offset. Raises :class:`UploadGone` when it is not there."""
        if not self.url:
            raise UploadGone()
        state = self.endpoint.state(self.url, retry=retry)
        if state.length is not None and state.length != self.source.size:
            # Same key, different length: not this file's upload; start afresh.
            raise UploadGone()
        return min(state.offset, self.source.size)

    def report_progress(self, done: int) -> None:
        """Tell the callback about ``done`` bytes, only ever moving forward."""
        if self.on_progress is not None and done > self._reported:
            self._reported = done
            self.on_progress(done, self.source.size)

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
            except UploadGone:
                log.info("stored upload %s is gone; starting a new one", stored)
                self.store.remove_item(self.resume_key)
        self._create()

    def _create(self) -> None:
        if self.cancelled is not None and self.cancelled.is_set():
            self._terminate_cancelled()
        self.url = None
        self.set_url(self.endpoint.create(self.source.size, self.metadata))
        self.offset = 0

    def _forget(self) -> None:
        """Drop the finished (or terminated) upload's record; a store failure here is only logged."""
        try:
            self.store.remove_item(self.resume_key)
        except StoreError as exc:
            log.warning("could not remove the finished upload from the store: %s", exc)

    def _raise_if_cancelled(self) -> None:
        if self.cancelled is not None and self.cancelled.is_set():
            raise _Cancelled()

    def _terminate_cancelled(self) -> NoReturn:
        try:
            self.terminate()
        except ScriptixError as exc:
            raise UploadCancelledError(
                f"upload cancelled; terminating it on the server failed: {exc}", upload_url=self.url
            ) from exc
        raise UploadCancelledError("upload cancelled and terminated on the server", upload_url=self.url)


def resume_key(fingerprint: str, endpoint: str, metadata: Mapping[str, str], token_digest: str) -> str:
    """What identifies one upload across processes: the bytes, where they go, what binds them, whose."""
    material = json.dumps(
        {"fingerprint": fingerprint, "endpoint": endpoint, "metadata": dict(metadata), "token": token_digest},
        sort_keys=True,
    )
    return hashlib.sha256(material.encode()).hexdigest()
