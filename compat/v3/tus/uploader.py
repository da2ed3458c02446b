"""The upload loop: create or resume one upload, stream its chunks, recover from failures.

:class:`ResumableUploader` sends a :class:`~compat.v3.source.ChunkSource` to a
:class:`~compat.v3.tus.endpoint.TusEndpoint`. It asks the source for the chunk at the server's
offset and never seeks a stream itself; it keeps the upload URL in a store so that another
process can resume it; after any failure it asks the server's offset (``HEAD``) and goes on from
there, with the transport's backoff and ``Retry-After`` rules; progress only moves forward; a
cancelled upload is terminated (``DELETE``).

A source whose length is not known yet (``size`` None) is created with ``Upload-Defer-Length: 1``
and its length is declared with the PATCH that carries its last bytes. The resume key is made of
the source's fingerprint and the metadata, or of a key the caller gives (a V1 session, say); with
``on_chunk``, each run of bytes the server confirms is reported as a
:class:`~compat.v3.receipts.ChunkReceipt`, hashed as the bytes went out.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import NoReturn, Protocol

import requests

from compat import telemetry
from compat.errors import (
    APIConnectionError,
    APIStatusError,
    ScriptixError,
    UploadCancelledError,
    UploadError,
)
from compat.redact import install_log_filter
from compat.store import StoreError
from compat.v3.receipts import ChunkCallback, ReceiptTracker
from compat.v3.source import Chunk, ChunkSource
from compat.v3.transport import connection_was_not_made, error_from_response, parse_retry_after
from compat.v3.tus.endpoint import TusEndpoint, UploadGone, UploadState
from compat.v3.tus.protocol import GONE_STATUSES, RESUMABLE_PATCH_STATUSES, int_value

__all__ = ["OpenCallback", "ProgressCallback", "ResumableUploader", "UrlStore", "resume_key"]

log = logging.getLogger("compat.tus")
install_log_filter(log)

ProgressCallback = Callable[[int, int], None]
OpenCallback = Callable[[str, bool, "int | None"], None]
"""``on_open(upload_url, created, length)``: the upload the bytes go to (its length: None while
deferred), before any of them is sent to it."""


class UrlStore(Protocol):
    """Where upload URLs outlive the process, by resume key: tuspy's public ``Storage`` contract.

    every :class:`~compat.store.Store` implements it; a failure raises
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

    def __init__(self, chunk: Chunk, *, on_read: Callable[[bytes], None], cancelled: threading.Event | None) -> None:
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
            self._on_read(data)
        return data


class _Refused:
    """The attempts in a row whose connection could not be made, and since when."""

    def __init__(self) -> None:
        self.attempts = 0
        self._since = 0.0

    def count(self) -> None:
        if not self.attempts:
            self._since = time.monotonic()
        self.attempts += 1

    def reset(self) -> None:
        self.attempts = 0

    def seconds(self) -> float:
        return time.monotonic() - self._since


class ResumableUploader:
    """One TUS upload of one source; create it, then call :meth:`upload`.

    Not thread-safe (one uploader, one thread); :attr:`cancelled` may be set from any thread.
    After :meth:`upload`, :attr:`url` is the upload's URL and :attr:`resumed_from` the offset
    it was resumed at (``None`` for a new upload).

    ``key`` replaces the source's fingerprint and the metadata in the resume key (the endpoint
    and the token digest stay in it): the caller vouches that it names one upload. ``on_chunk``
    is called with a :class:`~compat.v3.receipts.ChunkReceipt` for each run of bytes the server
    confirmed (in order, contiguous from where the upload started or resumed); an exception it
    raises stops the upload, which stays resumable. ``on_open(url, created, length)`` is called once the
    upload the bytes go to is known, before any of them is sent: a new one (``created``, also when
    it replaces one the server lost or one the body did not match) or a stored one resumed; a
    caller that keeps receipts drops those of an earlier upload there.
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
        key: str | None = None,
        on_chunk: ChunkCallback | None = None,
        on_open: OpenCallback | None = None,
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
        self.keyed_by_caller = key is not None
        if key is None:
            self.resume_key = resume_key(source.fingerprint, endpoint.url, metadata, token_digest)
        else:
            self.resume_key = resume_key(f"caller:{key}", endpoint.url, {}, token_digest)
        self.url: str | None = None
        self.offset = 0
        self.resumed_from: int | None = None
        self._reported = -1
        # Whether the server knows the upload's length (False only while a deferred length is undeclared).
        self._length_declared = True
        self._tracker = ReceiptTracker(on_chunk) if on_chunk is not None else None
        self._on_open = on_open

    def __repr__(self) -> str:
        return f"ResumableUploader(url={self.url!r}, offset={self.offset}, size={self.source.size})"

    def _finished(self) -> bool:
        size = self.source.size
        return size is not None and self.offset >= size and self._length_declared

    def _confirmed(self) -> None:
        if self._tracker is not None:
            self._tracker.confirmed(self.offset)

    # the upload ---------------------------------------------------------------------------

    def upload(self) -> None:
        """Create or resume the upload and send every byte; resumes after any failure.

        Every failed attempt (a PATCH, or the HEAD that asks the offset after it) counts against
        ``max_retries``; the count starts again whenever the server's offset moves forward, so a
        long upload over a flaky link goes on while it makes progress, and a dead one stops.
        Its length and outcome are reported to :mod:`compat.telemetry`.
        """
        started = time.monotonic()
        outcome: telemetry.Outcome = "error"
        try:
            self._upload()
            outcome = "ok"
        except UploadCancelledError:
            outcome = "cancelled"
            raise
        finally:
            telemetry.upload_finished(time.monotonic() - started, outcome)

    def _upload(self) -> None:
        self._open()
        self.report_progress(self.offset)
        policy = self.endpoint.transport.policy
        failures = 0
        confirmed = self.offset
        restarted = False
        need_offset = False
        refused = _Refused()
        while need_offset or not self._finished():
            error: ScriptixError
            retry_after: float | None = None
            try:
                self._raise_if_cancelled()
                if need_offset:
                    self.offset = self.get_offset(retry=False)
                    need_offset = False
                    self._confirmed()
                else:
                    self.upload_chunk()
                refused.reset()
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
                self._create(probe=True)
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
                if connection_was_not_made(exc.__cause__ or exc):  # said as the transport says it
                    self.endpoint.transport.warn_unreachable(self.url or self.endpoint.url, exc)
                    refused.count()
                else:
                    refused.reset()
            failures += 1
            if policy.hint_too_long(retry_after):
                raise error  # the server asks for a longer pause than allowed: its own typed error
            if failures > policy.max_retries:
                if refused.attempts and isinstance(error, APIConnectionError):
                    error = self.endpoint.transport.unreachable_error(
                        error, refused.attempts, refused.seconds(), self.url or self.endpoint.url
                    )
                total = "?" if self.source.size is None else self.source.size
                raise UploadError(
                    f"upload stopped at byte {self.offset} of {total} after "
                    f"{failures} failed attempts: {error}; run the same upload again to resume",
                    upload_url=self.url,
                    status_code=error.status_code,
                ) from error
            wait = policy.delay(failures, retry_after)
            log.info("TUS %s failed (%s); asking the offset in %.2f s", self.url, error, wait)
            telemetry.upstream_retry("upload")
            self.endpoint.transport.sleep(wait)
            need_offset = True
        self._forget()
        self.report_progress(self.offset)

    def upload_chunk(self) -> None:
        """One PATCH from :attr:`offset`; raises on failure, advances :attr:`offset` on success.

        An :class:`UploadError` from the source (a body that ended early, a forward-only body
        asked to rewind) is raised with :attr:`url` on it: nothing is retried, the upload stays
        on the server and in the store.
        """
        if self.url is None:
            raise UploadGone()
        start = self.offset
        sent = 0
        tracker = self._tracker

        def on_read(data: bytes) -> None:
            nonlocal sent
            if tracker is not None:
                tracker.passed(start + sent, data)
            sent += len(data)
            self.report_progress(start + sent)

        try:
            chunk = self.source.chunk(start, self.chunk_size)
            size = self.source.size
            # A deferred length is declared with the first PATCH after it is known (the spec's rule).
            declare = size if not self._length_declared and size is not None else None
            body = _MeteredBody(chunk, on_read=on_read, cancelled=self.cancelled)
            response = self.endpoint.patch(self.url, start, body, upload_length=declare)
        except UploadError as exc:
            if exc.upload_url is None:
                exc.upload_url = self.url
            raise
        if response.status_code in GONE_STATUSES:
            raise UploadGone()
        if not 200 <= response.status_code < 300:
            raise _PatchFailed(response)
        new_offset = int_value(response.headers.get("Upload-Offset"))
        # Only a PATCH that declares the length may carry no byte (a deferred upload whose bytes
        # all arrived before its length was known).
        least = start if len(body) == 0 and declare is not None else start + 1
        if new_offset is None or not least <= new_offset <= start + len(body):
            raise _PatchFailed(response, reason="an invalid Upload-Offset")
        if declare is not None:
            self._length_declared = True
        telemetry.upload_bytes(new_offset - start)
        self.offset = new_offset
        self._confirmed()

    def get_offset(self, *, retry: bool = True) -> int:
        """HEAD the upload; the server's offset. Raises :class:`UploadGone` when it is not there."""
        if not self.url:
            raise UploadGone()
        state = self.endpoint.state(self.url, retry=retry)
        size = self.source.size
        if state.length is not None and size is not None and state.length != size:
            # Same key, different length: not this file's upload; start afresh.
            raise UploadGone()
        self._learn_declared(state)
        return state.offset if size is None else min(state.offset, size)

    def report_progress(self, done: int) -> None:
        """Tell the callback about ``done`` bytes, only ever moving forward.

        The total is the source's size, or 0 while a deferred length is not known yet.
        """
        if self.on_progress is not None and done > self._reported:
            self._reported = done
            self.on_progress(done, self.source.size or 0)

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
                state = self.endpoint.state(stored)
            except UploadGone:
                log.info("stored upload %s is gone; starting a new one", stored)
                self.store.remove_item(self.resume_key)
                self._create()
                return
            size = self.source.size
            if state.length is not None and size is not None and state.length != size:
                log.info("stored upload %s has another length; starting a new one", stored)
                if self.keyed_by_caller:
                    # The caller's key names one upload (a session's media): the old one is ended.
                    self._discard(stored)
                else:
                    self.store.remove_item(self.resume_key)
            else:
                self._learn_declared(state)
                offset = state.offset if size is None else min(state.offset, size)
                receipts = self.source.resume_at(offset)
                if receipts is not None:
                    self.offset = self.resumed_from = offset
                    log.info("resuming %s at byte %d of %s", stored, offset, self.source.size)
                    if self._on_open is not None:
                        self._on_open(stored, False, self.source.size)
                    if self._tracker is not None:
                        self._tracker.begin(offset)
                        for receipt in receipts:  # bytes the source checked that no receipt covered
                            self._tracker.report(receipt)
                    return
                if size is not None and offset >= size and not state.deferred:
                    # Never replaced once complete: the server may already be working on it.
                    raise UploadError(
                        f"the server already holds all {size} bytes of the upload stored under this key, and this "
                        "body could not be shown to be the same (no matching receipts); the upload is left as it is",
                        upload_url=stored,
                    )
                log.info("the body does not match stored upload %s; replacing it", stored)
                self._discard(stored)
                self._create(probe=True)
                return
        self._create()

    def _learn_declared(self, state: UploadState) -> None:
        """Whether the server knows the length, from a HEAD (neither header: no news)."""
        if state.length is not None:
            self._length_declared = True
        elif state.deferred:
            self._length_declared = False

    def _discard(self, url: str) -> None:
        """Terminate a stored upload that will not be continued, and forget it (failures are logged)."""
        try:
            self.endpoint.terminate(url)
        except ScriptixError as exc:
            log.warning("could not terminate %s: %s", url, exc)
        self._forget()
        self.url = None

    def _create(self, *, probe: bool = False) -> None:
        if self.cancelled is not None and self.cancelled.is_set():
            self._terminate_cancelled()
        if probe or self.source.size is None:
            # Asked before the creation: a forward-only source refuses to start again from 0
            # before anything is created, and one of unknown length reads its first chunk, so a
            # body that fits in it is created with its length.
            try:
                self.source.chunk(0, self.chunk_size)
            except UploadError:
                self._forget()
                self.url = None
                raise
        self.url = None
        size = self.source.size
        self.set_url(self.endpoint.create(size, self.metadata))
        self._length_declared = size is not None
        self.offset = 0
        if self._on_open is not None:
            self._on_open(self.url or "", True, size)
        if self._tracker is not None:
            self._tracker.begin(0)

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
