"""The one V1 -> V3 translator. ``LegacyClient``, ``install()`` and the gateway are thin layers on it.

Data flows one way: V1 request -> validate -> translate -> V3 calls -> V1 answer. Every
operation takes the caller's token and returns the V1 JSON as a ``dict``; a refusal or an upstream
error is raised as a :class:`compat.ScriptixError` whose ``body`` is V1 error JSON.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any

from compat.errors import APIStatusError, NotFoundError, ScriptixError, UploadCancelledError
from compat.formats import TimeUnit, convert_times
from compat.media import AddressPolicy, MediaDownload, MediaError, MediaFetcher, media_filename
from compat.options import DEFAULT_MAX_MEDIA_BYTES, AlignStrategy, MediaSourceMode, Options
from compat.sessions import Claim, ClaimLostError, SessionBook, SessionNotOwnedError, SessionRecord, TransferState
from compat.store import StoredReceipt, StoreError
from compat.transfers import Transfer, Transfers
from compat.v1.models import envelope
from compat.v1.validation import (
    refuse,
    require_token,
    validate_create,
    validate_session_id,
    validate_upload,
)
from compat.v3.client import V3Client
from compat.v3.models import Transcript, UploadResult
from compat.v3.receipts import ChunkReceipt, verify_prefix
from compat.v3.source import FileInput, is_seekable, probe_empty
from compat.v3.spool import read_some
from compat.v3.tus import ProgressCallback

__all__ = [
    "DEFAULT_MAX_MEDIA_BYTES",
    "STATUS_TO_V1",
    "AlignStrategy",
    "MediaSourceMode",
    "Translator",
    "media_refusal",
    "media_resume_key",
    "normalise_status",
    "tus_metadata",
]

log = logging.getLogger("compat.translate")

# V3 (and older) session states -> the V1 status a legacy caller polls for.
STATUS_TO_V1: dict[str, str] = {
    "done": "done",
    "completed": "done",
    "finished": "done",
    "success": "done",
    "failed": "failed",
    "error": "failed",
}
ALREADY_UPLOADED = "Invalid data: media was already uploaded for this session"
# The words V1's error tables put before a refusal, by status.
V1_REFUSAL_WORDS = {400: "Invalid data", 415: "Content Invalid", 422: "Body Invalid"}


def normalise_status(status: Any) -> Any:
    """The V1 status for a V3 status: ``completed``/``finished`` become ``done``; others pass."""
    if isinstance(status, str):
        return STATUS_TO_V1.get(status.lower(), status)
    return status


def _media_kind(media_type: str | None) -> str | None:
    """V1's ``media_type`` is ``"audio"`` or ``"video"``; V3 may answer a MIME type."""
    if not media_type:
        return media_type
    major = media_type.split("/", 1)[0].lower()
    return major if major in ("audio", "video") else media_type


def media_resume_key(session_id: str, owner: str) -> str:
    """The resume key of a session's media upload: the session and its owner (a keyed hash of the token).

    A V1 session has one media upload, so a retried PUT (or a ``media_source`` job picked up
    again) finds the upload already started for the session whatever carries the body. The
    declared length is checked against the stored upload's: one of another length is terminated
    and a new one started (:class:`~compat.v3.tus.ResumableUploader`), never left beside it.
    """
    return f"v1-session:{session_id}:owner={owner}"


def tus_metadata(
    options: dict[str, Any],
    *,
    session_id: str,
    filename: str,
    filetype: str,
    document_type: str,
) -> dict[str, str]:
    """The TUS ``Upload-Metadata`` for a V1 session's media (DESIGN.md §3)."""
    document: dict[str, Any] = dict(options.get("document") or {})
    for key in ("webhook_url", "webhook_method", "webhook_headers"):
        if options.get(key) is not None:
            document[key] = options[key]
    metadata = {
        "language": str(options["language"]),
        "document_type": str(document.get("document_type") or document_type),
        "filetype": filetype,
        "filename": filename,
        "session_id": session_id,
        "punctuation": "true" if options.get("punctuation") else "false",
        "keep_source": "true" if options.get("keep_source") else "false",
        "multichannel": "true" if options.get("multichannel") else "false",
    }
    if document:
        metadata["document"] = json.dumps(document, separators=(",", ":"), sort_keys=True)
    return metadata


class Translator:
    """Serves the V1 operations on a :class:`V3Client`.

    ``options`` are the surface's :class:`compat.Options` (default: every option at its default);
    the translator reads ``allow_private_media``, ``media_source_mode``, ``align_strategy``,
    ``unknown_fields``, ``document_type``, ``max_media_bytes`` and ``allow_insecure_webhooks`` (each
    field's description says what it does; MIGRATION.md why). ``media_policy`` replaces the address
    rule ``allow_private_media`` builds for ``media_source`` URLs (an embedding's or a test's own).

    The translator owns the transfers it runs (:attr:`transfers`: PUT uploads, ``media_source``
    jobs, TUS ``/align``): :meth:`delete` cancels a session's, :meth:`wait_for_transfers` waits
    for them all, :meth:`close` releases what it holds. The :class:`V3Client` is the caller's.
    """

    def __init__(
        self, v3: V3Client, options: Options | None = None, *, media_policy: AddressPolicy | None = None
    ) -> None:
        options = options if options is not None else Options()
        self.v3 = v3
        self.options = options
        self.sessions = SessionBook(v3.store, lease=v3.settings.claim_lease)
        self.fetcher = MediaFetcher(
            media_policy or AddressPolicy(allow_private=options.allow_private_media),
            max_bytes=options.max_media_bytes,
            timeout=(v3.settings.connect_timeout, v3.settings.timeout),
        )
        self.transfers = Transfers()
        """What this process is transferring right now, per session."""

    def close(self) -> None:
        """Close the media fetcher's connection pool; the :class:`V3Client` is its owner's to close.

        Transfers in flight are neither cancelled nor waited for: they run to their end (reopening
        the connections they need). Call :meth:`wait_for_transfers` first to wait for them (as the
        gateway's graceful shutdown does), or :meth:`delete` a session to stop its transfer.
        """
        self.fetcher.session.close()

    # create -------------------------------------------------------------------------------

    def create_session(self, token: str | None, body: Any) -> dict[str, Any]:
        """V1 ``POST /api/v3/speech-to-text/session``."""
        token = require_token(token)
        request = validate_create(
            body,
            unknown_fields=self.options.unknown_fields,
            allow_insecure_webhooks=self.options.allow_insecure_webhooks,
        )
        download: MediaDownload | None = None
        if request.media_source is not None:
            with _media_refusals():
                self.fetcher.check(request.media_source)
                if self.options.media_source_mode == "sync":
                    download = self.fetcher.open(request.media_source)
        v3 = self.v3.with_token(token)
        try:
            created = v3.create_session(**request.upstream_body())
        except BaseException:
            if download is not None:
                download.close()
            raise
        session_id = created.session_id
        options = request.model_dump(exclude_none=True)
        try:
            self.sessions.remember(token, session_id, options)
        except StoreError:
            # The caller will never hear of this session: leave none behind upstream.
            if download is not None:
                download.close()
            self._delete_quietly(token, session_id)
            raise
        if request.media_source is None:
            return envelope({"session_id": session_id, "status": created.status or "new"})
        filename = download.filename if download is not None else media_filename(request.media_source)
        try:
            claim = self._claim(token, session_id, filename=filename)
        except BaseException:
            if download is not None:
                download.close()
            raise
        if download is not None:
            with _media_refusals(), self.transfers.track(session_id, "media_source") as transfer:
                return self._transfer_media(token, session_id, options, download, claim, transfer)
        self._start_background(token, session_id, options, request.media_source, claim)
        return envelope(
            {"session_id": session_id, "status": "uploading", "filename": media_filename(request.media_source)}
        )

    def _transfer_media(
        self,
        token: str,
        session_id: str,
        options: dict[str, Any],
        download: MediaDownload,
        claim: Claim,
        transfer: Transfer,
    ) -> dict[str, Any]:
        """Upload a fetched ``media_source`` under the session's claim (which this ends)."""
        try:
            transfer.raise_if_cancelled()
            metadata = tus_metadata(
                options,
                session_id=session_id,
                filename=download.filename,
                filetype=download.filetype,
                document_type=self.options.document_type,
            )
            self._send_media(
                token,
                session_id,
                download.stream,
                metadata,
                claim,
                length=_declared_length(download),
                cancel=transfer.cancel,
            )
        except BaseException as exc:
            try:
                # Only while the session is still this job's: one taken over (this process stopped
                # renewing its claim for longer than the lease) is another caller's to finish.
                if not isinstance(exc, ClaimLostError) and claim.holds():
                    self._rollback(token, session_id, exc)
            finally:
                claim.release()
            if isinstance(exc, ClaimLostError):
                log.warning("the media_source job for session %s was taken over by another caller; stopped", session_id)
                raise refuse(400, ALREADY_UPLOADED) from None
            raise
        finally:
            download.close()
        media_type = _media_kind(download.filetype)
        claim.finish(media_type=media_type)
        return envelope(
            {
                "session_id": session_id,
                "status": "uploaded",
                "filename": download.filename,
                "media_type": media_type,
                "media_url": self._kept_media_url(token, session_id, options),
            }
        )

    def _background_transfer(
        self, token: str, session_id: str, options: dict[str, Any], url: str, claim: Claim, transfer: Transfer
    ) -> None:
        outcome: dict[str, Any] = {}  # how the claim ends if the transfer did not end it
        try:
            with _media_refusals():
                self._transfer_media(token, session_id, options, self.fetcher.open(url), claim, transfer)
        except UploadCancelledError:
            pass
        except ScriptixError as exc:
            log.warning("the media_source job for session %s stopped: %s", session_id, type(exc).__name__)
            outcome = {"state": "failed", "error": str(exc)}
        except Exception as exc:  # a background thread has no caller to raise to: record it
            log.exception("media_source transfer for %s failed", session_id)
            outcome = {"state": "failed", "error": f"media_source transfer failed: {exc}"}
        finally:
            claim.release(**outcome)

    def _rollback(self, token: str, session_id: str, cause: BaseException) -> None:
        """After a failed media transfer, leave nothing half-started upstream."""
        if isinstance(cause, UploadCancelledError):
            return
        self._delete_quietly(token, session_id)
        try:
            self.sessions.forget(session_id)
        except StoreError as exc:
            log.warning("could not forget session %s: %s", session_id, exc)

    def _delete_quietly(self, token: str, session_id: str) -> None:
        try:
            self.v3.with_token(token).delete_session(session_id)
        except ScriptixError as exc:
            log.warning("could not delete session %s upstream: %s", session_id, exc)

    def wait_for_transfers(self, timeout: float | None = None) -> bool:
        """Wait for the transfers in flight, background ``media_source`` jobs included (for tests
        and graceful shutdown).

        True when none is left running; False when ``timeout`` ran out first.
        """
        return self.transfers.wait(timeout)

    # upload -------------------------------------------------------------------------------

    def upload(
        self,
        token: str | None,
        session_id: str,
        file: FileInput,
        *,
        content_type: str | None,
        filename: str | None,
        content_length: int | None = None,
        on_progress: ProgressCallback | None = None,
        any_media_type: bool = False,
    ) -> dict[str, Any]:
        """V1 ``PUT /api/v3/speech-to-text/session/{id}`` (raw body, ``x-filename``).

        The body goes up as it is read (a stream that cannot seek, with ``content_length``: the
        first PATCH leaves with its first bytes, one chunk kept), under the session's resume key
        (:func:`media_resume_key`), with a receipt per confirmed chunk in the store. So a PUT
        retried after the process died continues the session's upload from the server's offset:
        the retried body's bytes up to there are read and checked against the receipts, not sent
        again; if they differ, the old upload is terminated and a new one started. The bytes of
        the one chunk that was in flight when the process died have no receipt: they are trusted
        when every receipt before them matched (``trust_unrecorded``; see MIGRATION.md). A retry
        that begins once the upstream has the whole file answers 200 when its body matches the
        receipts, else V1's 400 (a complete upload is never replaced); one that overlapped the PUT
        that sent it is a second upload (400), whatever its body.

        ``any_media_type``: a ``content_type`` that is not ``audio/*`` or ``video/*`` is sent as
        ``application/octet-stream`` instead of refused (the Zoom Media upload took any file; the
        server then reports what it cannot transcribe).
        """
        token = require_token(token)
        session_id = validate_session_id(session_id)
        media_type, name = validate_upload(
            content_type=content_type, filename=filename, content_length=content_length, any_type=any_media_type
        )
        file = _refuse_empty(file, "Invalid data: the upload body is empty")
        record = self._owned_session(token, session_id)
        kind = _media_kind(media_type)

        def answer() -> dict[str, Any]:
            return envelope(
                {
                    "session_id": session_id,
                    "status": "uploaded",
                    "filename": name,
                    "media_type": kind,
                    "media_url": self._kept_media_url(token, session_id, record.options),
                }
            )

        if record.state == "uploaded":
            return self._answer_uploaded(session_id, file, content_length, answer)
        if record.state == "uploading" and self.transfers.running(session_id):
            raise refuse(400, ALREADY_UPLOADED)  # the fast path; the claim below is the rule
        metadata = tus_metadata(
            record.options,
            session_id=session_id,
            filename=name,
            filetype=media_type,
            document_type=self.options.document_type,
        )
        with self.transfers.track(session_id, "upload") as transfer:
            claim = self.sessions.claim(
                session_id, record.owner, filename=name, media_type=kind, wait=self.sessions.lease + 1.0
            )
            if claim is None:
                found = self.sessions.get(session_id)
                if found is None:  # deleted meanwhile
                    raise _not_found()
                # Going up, or up by now, for another PUT that overlapped this one: a second upload
                # (the 200 for the same bytes is for a PUT that began once the upload was complete).
                raise refuse(400, ALREADY_UPLOADED)
            try:
                transfer.raise_if_cancelled()
                complete = self._complete_upload(session_id)
                if complete is not None:
                    # The upstream holds the whole upload: its process died before saying so.
                    claim.finish()
                    if self._body_matches(file, complete, content_length):
                        return answer()
                    raise refuse(400, ALREADY_UPLOADED)
                result = self._send_media(
                    token,
                    session_id,
                    file,
                    metadata,
                    claim,
                    length=content_length,
                    cancel=transfer.cancel,
                    on_progress=on_progress,
                )
                if content_length is not None and result.size != content_length:
                    log.warning(
                        "upload for %s was %d bytes, Content-Length said %d", session_id, result.size, content_length
                    )
                if result.size == 0:
                    self.v3.with_token(token).terminate(result.upload_url)
                    self.sessions.clear_receipts(session_id)
                    raise refuse(400, "Invalid data: the upload body is empty")
            except BaseException as exc:
                claim.release()  # back to the state it had: the caller may try again at once
                if isinstance(exc, ClaimLostError):  # another PUT took the session over: this one is the second
                    raise refuse(400, ALREADY_UPLOADED) from None
                raise
            claim.finish()
        return answer()

    def _send_media(
        self,
        token: str,
        session_id: str,
        file: FileInput,
        metadata: dict[str, str],
        claim: Claim,
        *,
        length: int | None,
        cancel: threading.Event,
        on_progress: ProgressCallback | None = None,
    ) -> UploadResult:
        """Upload a session's media under its resume key, recording a receipt per confirmed chunk.

        A stream that cannot seek goes up as it is read: with ``length``, forward-only; without,
        with a deferred length where the upstream takes one, else spooled up to ``max_media_bytes``.
        The receipts of an earlier attempt are handed in, so the body is checked against them
        (:meth:`upload`); those of an upload that is replaced are dropped before its first byte.
        ``claim`` is the session's upload claim: confirmed (renewed) before each receipt is written,
        so a process that lost it while frozen stops with :class:`~compat.sessions.ClaimLostError`
        instead of writing over the receipts of the caller that took the session over.
        """
        owner = self.sessions.owner_of(token)
        current: dict[str, Any] = {"url": "", "length": None}

        def on_open(url: str, created: bool, upload_length: int | None) -> None:
            current.update(url=url, length=upload_length)
            if created:
                claim.confirm()
                self.sessions.clear_receipts(session_id)

        def on_chunk(receipt: ChunkReceipt) -> None:
            claim.confirm()  # a holder that lost the session (frozen past its lease) stops here
            stored = StoredReceipt(current["url"], receipt.offset, receipt.length, receipt.digest, current["length"])
            self.sessions.add_receipt(session_id, stored)

        known = [ChunkReceipt(r.offset, r.length, r.digest) for r in self.sessions.receipts(session_id)]
        return self.v3.with_token(token).upload(
            file,
            metadata,
            on_progress,
            cancel=cancel,
            resolve_session=False,
            length=None if is_seekable(file) else length,
            resume_key=media_resume_key(session_id, owner),
            receipts=known,
            trust_unrecorded=True,
            on_chunk=on_chunk,
            on_open=on_open,
            max_spool=self.options.max_media_bytes,
            prefix_keep=self.options.max_media_bytes,  # a retried body that differs still starts the new upload
        )

    def _complete_upload(self, session_id: str, *, uploaded: bool = False) -> list[StoredReceipt] | None:
        """The receipts of the session's upload when they cover all of it (the server confirmed its
        last byte), else None: known from the store alone, before any byte of the body is read.

        ``uploaded``: the session's media is known to be up, so receipts of an upload whose length
        was deferred (a chunked PUT: its length came with its last bytes) count as covering it.
        """
        receipts = self.sessions.receipts(session_id)
        covered = _covered(receipts)
        lengths = {receipt.upload_length for receipt in receipts}
        if covered == 0 or not (lengths == {covered} or (uploaded and lengths == {None})):
            return None
        return receipts

    def _answer_uploaded(
        self, session_id: str, file: FileInput, content_length: int | None, answer: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        """A PUT for a session whose media is up: 200 when the body is the one sent (its receipts
        match, a retry after the answer was lost), else V1's 400: the upload is never replaced."""
        receipts = self._complete_upload(session_id, uploaded=True)
        if receipts is not None and self._body_matches(file, receipts, content_length):
            return answer()
        raise refuse(400, ALREADY_UPLOADED)

    @staticmethod
    def _body_matches(file: FileInput, receipts: list[StoredReceipt], content_length: int | None) -> bool:
        """Whether ``file`` is exactly the bytes the receipts cover (read to its end, hashed, not kept)."""
        total = _covered(receipts)
        if total == 0 or (content_length is not None and content_length != total):
            return False
        checked = [ChunkReceipt(r.offset, r.length, r.digest) for r in receipts]
        with _opened(file) as stream:
            check = verify_prefix(stream, checked, total, keep_limit=0)
            return check.matched and not read_some(stream, 1)

    def check_upload(self, token: str | None, session_id: str) -> None:
        """Refuse an upload before its body is read: 401, 404 (an unknown session or another token's),
        400 (media already uploaded or arriving). A front door whose body must be parsed to learn the
        file's name (the Zoom Media multipart upload) asks this first, so the session is judged before
        the body, in the order that API checked them; and a second upload is a 400 there whatever its
        body (:meth:`upload` answers a PUT retried with the very bytes already up 200).
        """
        token = require_token(token)
        session_id = validate_session_id(session_id)
        record = self._owned_session(token, session_id)
        if record.state == "uploaded" or (record.state == "uploading" and self.transfers.running(session_id)):
            raise refuse(400, ALREADY_UPLOADED)

    # align --------------------------------------------------------------------------------

    def align(
        self,
        token: str | None,
        session_id: str,
        media: FileInput,
        transcript: FileInput,
        *,
        media_type: str | None,
        media_filename: str | None,
        transcript_filename: str | None = None,
    ) -> dict[str, Any]:
        """V1 ``POST …/session/{id}/align`` (multipart ``media_file`` + ``transcript_file``)."""
        token = require_token(token)
        session_id = validate_session_id(session_id)
        kind, name = validate_upload(content_type=media_type, filename=media_filename, content_length=None)
        media = _refuse_empty(media, "Invalid data: media_file is empty")
        transcript = _refuse_empty(transcript, "Invalid data: transcript_file is empty")
        text_name = transcript_filename or "transcript.txt"
        record = self._owned_session(token, session_id)
        v3 = self.v3.with_token(token)
        if self.options.align_strategy == "passthrough":
            return self._align_passthrough(v3, session_id, media, transcript, kind, name, text_name)
        common = {"session_id": session_id, "document_type": self.options.document_type}
        with self.transfers.track(session_id, "align") as transfer:
            v3.upload(
                media,
                tus_metadata(record.options, filename=name, filetype=kind, **common),
                cancel=transfer.cancel,
                resolve_session=False,
            )
            transfer.raise_if_cancelled()
            v3.upload(
                transcript,
                tus_metadata(record.options, filename=text_name, filetype="text/plain", **common),
                cancel=transfer.cancel,
                resolve_session=False,
            )
        self.sessions.clear_receipts(session_id)  # the media went up without them: none to check against
        self.sessions.update(session_id, state="uploaded", filename=name, media_type=_media_kind(kind))
        return envelope(
            {
                "session_id": session_id,
                "status": "uploaded",
                "filename": name,
                "media_type": _media_kind(kind),
                "media_url": self._kept_media_url(token, session_id, record.options),
            }
        )

    def _align_passthrough(
        self,
        v3: V3Client,
        session_id: str,
        media: FileInput,
        transcript: FileInput,
        media_type: str,
        media_name: str,
        transcript_name: str,
    ) -> dict[str, Any]:
        from requests_toolbelt import MultipartEncoder  # only the passthrough strategy needs it

        with _opened(media) as media_stream, _opened(transcript) as text_stream:
            encoder = MultipartEncoder(
                fields={
                    "media_file": (media_name, media_stream, media_type),
                    "transcript_file": (transcript_name, text_stream, "text/plain"),
                }
            )
            response = v3.transport.request(
                "POST",
                f"{v3.settings.session_endpoint}/{session_id}/align",
                token=v3._token,
                data=encoder,
                headers={"Content-Type": encoder.content_type},
            )
        self.sessions.update(session_id, state="uploaded", filename=media_name, media_type=_media_kind(media_type))
        try:
            body = response.json()
        except ValueError:
            body = {}
        if isinstance(body, dict) and isinstance(body.get("result"), dict):
            return envelope(body["result"])
        return envelope({"session_id": session_id, "status": "uploaded", "filename": media_name})

    # results ------------------------------------------------------------------------------

    def get_result(self, token: str | None, session_id: str, *, time_unit: TimeUnit | None = None) -> dict[str, Any]:
        """V1 ``GET …/session/{id}/result``, normalised to the V1 shape.

        Word times are in ``time_unit`` (default: the ``time_unit`` option, else the Batch V1 unit,
        seconds); V3 gives seconds.
        """
        token = require_token(token)
        session_id = validate_session_id(session_id)
        record = self._open(token, session_id)
        if record is not None and record.state == "uploading" and not self.transfers.running(session_id):
            record.state = self._recover(token, record)
        if record is not None and record.state in ("uploading", "failed"):
            return envelope(
                {
                    "session_id": session_id,
                    "status": record.state,
                    "filename": record.filename,
                    "media_type": record.media_type,
                    "error": record.error,
                }
            )
        transcript = self.v3.with_token(token).get_result(session_id)
        unit = time_unit or self.options.time_unit_for("batch_v1")
        return convert_times(v1_result(transcript, session_id), "s", unit)

    def delete(self, token: str | None, session_id: str) -> dict[str, Any]:
        """V1 ``DELETE …/session/{id}``; also stops a transfer in flight and drops local state."""
        token = require_token(token)
        session_id = validate_session_id(session_id)
        self._open(token, session_id)  # refuses another token's session before anything is stopped
        self.transfers.cancel(session_id)
        answer = self.v3.with_token(token).delete_session(session_id)
        self.sessions.forget(session_id)
        result = answer.get("result") if isinstance(answer.get("result"), dict) else {}
        return envelope({"session_id": session_id, "status": "deleted", **(result or {})})

    # helpers ------------------------------------------------------------------------------

    def _kept_media_url(self, token: str, session_id: str, options: dict[str, Any]) -> str | None:
        """Where the server keeps a ``keep_source`` session's media, as it says right after the upload.

        V1 answered the upload with ``media_url``; V3 shows it only on the session object (and the
        result), so for ``keep_source`` sessions the shim asks once. ``None`` without
        ``keep_source``, when the server shows no URL, or when asking fails: the upload itself is
        done and is not failed for want of a URL.
        """
        if not options.get("keep_source"):
            return None
        try:
            return self.v3.with_token(token).get_session(session_id).media_url
        except (ScriptixError, ValueError) as exc:  # ValueError: a session object that does not parse
            log.info("no media_url for %s: %s", session_id, exc)
            return None

    def _recover(self, token: str, record: SessionRecord) -> TransferState:
        """A transfer marked in flight that this process does not run: pick it up if its holder died.

        Another process may be running it: only a claim whose lease ran out (its holder stopped
        renewing it) is taken over, atomically, so a job never runs twice. A ``media_source`` job
        then starts again in the background, with the caller's token (the store never holds
        tokens, so a job resumes on its owner's next call); its TUS upload continues from the
        server's offset. An interrupted PUT is the caller's to repeat: its session goes back to
        the state it had.
        """
        url = record.options.get("media_source")
        if not isinstance(url, str):
            restored = self.sessions.release_lapsed(record.session_id, record.owner)
            return restored or self._state_now(record)
        claim = self.sessions.claim(record.session_id, record.owner, takeover_only=True)
        if claim is None:  # alive elsewhere, or finished meanwhile
            return self._state_now(record)
        self._start_background(token, record.session_id, record.options, url, claim)
        return "uploading"

    def _state_now(self, record: SessionRecord) -> TransferState:
        found = self.sessions.get(record.session_id)
        return found[0].state if found else record.state

    def _start_background(self, token: str, session_id: str, options: dict[str, Any], url: str, claim: Claim) -> None:
        def job(transfer: Transfer) -> None:
            self._background_transfer(token, session_id, options, url, claim, transfer)

        try:
            started = self.transfers.start(session_id, "media_source", job)
        except BaseException:
            claim.release()
            raise
        if not started:  # this process runs the job already: it keeps its own claim
            claim.release()

    def _claim(self, token: str, session_id: str, *, filename: str, media_type: str | None = None) -> Claim:
        """The session's upload claim, or the V1 400 when media is (being) uploaded by anyone."""
        owner = self.sessions.owner_of(token)
        claim = self.sessions.claim(session_id, owner, filename=filename, media_type=media_type)
        if claim is None:
            if self.sessions.get(session_id) is None:  # deleted meanwhile
                raise _not_found()
            raise refuse(400, ALREADY_UPLOADED)
        return claim

    def _open(self, token: str, session_id: str) -> SessionRecord | None:
        """The caller's record of the session, or ``None`` when the store does not know it.

        A session the store knows under another token is refused as V1 refuses it: 404 for a valid
        token of another account, 401 for a token that is not valid at all (see :meth:`_refuse_foreign`).
        """
        try:
            return self.sessions.open(token, session_id)
        except SessionNotOwnedError:
            raise self._refuse_foreign(token, session_id) from None

    def _refuse_foreign(self, token: str, session_id: str) -> ScriptixError:
        """The refusal for another token's session, decided by upstream with the caller's token.

        The store cannot tell a token of another account (V1: 404) from one that is not valid at
        all (V1: 401); upstream can. So on this path only, the shim asks upstream once for the
        session (a ``GET``, which changes nothing) and passes on what upstream says to this token:
        its 401 (or any error it answers, as for a session the store does not know, so an invalid
        token learns nothing of which sessions the store holds). A 404, or a session upstream
        shows to this token (another key of the same account), is the V1 404: the session was
        created through the shim with another token, whose key seals its options.
        """
        try:
            self.v3.with_token(token).get_session(session_id)
        except NotFoundError:
            pass
        except ScriptixError as exc:
            return exc
        except ValueError:  # a session object that does not parse: upstream accepted the token
            pass
        return _not_found()

    def _owned_session(self, token: str, session_id: str) -> SessionRecord:
        record = self._open(token, session_id)
        if record is not None:
            return record
        # Created elsewhere (before the shim, or by another tool): ask upstream with the caller's token.
        try:
            session = self.v3.with_token(token).get_session(session_id)
        except NotFoundError:
            raise _not_found() from None
        if not session.language:
            raise refuse(400, "Invalid language: the session has no language; create it through the shim")
        # Adopted, never replaced: another process may have adopted it just now and hold its claim.
        self.sessions.adopt(token, session_id, {"language": session.language})
        try:
            adopted = self.sessions.open(token, session_id)
        except SessionNotOwnedError:  # adopted meanwhile by another token; upstream just accepted this one
            raise _not_found() from None
        if adopted is None:  # deleted meanwhile
            raise _not_found()
        return adopted


def v1_result(transcript: Transcript, session_id: str) -> dict[str, Any]:
    """A V3 result as V1 shows it: the envelope, V1 status words, ``audio``/``video`` media type."""
    raw = transcript.model_dump(exclude_none=False)
    raw["session_id"] = raw.get("session_id") or session_id
    raw["status"] = normalise_status(raw.get("status"))
    raw["media_type"] = _media_kind(raw.get("media_type"))
    if raw.get("results") is None:
        raw.pop("results", None)
    return envelope(raw)


def media_refusal(exc: MediaError) -> APIStatusError:
    """A ``media_source`` problem (:mod:`compat.media`) as the V1 refusal a caller sees: its status, V1's words."""
    return refuse(exc.status, f"{V1_REFUSAL_WORDS.get(exc.status, 'Invalid data')}: {exc}")


@contextmanager
def _media_refusals() -> Iterator[None]:
    """Inside the block, a :class:`~compat.media.MediaError` is raised as its V1 refusal."""
    try:
        yield
    except MediaError as exc:
        raise media_refusal(exc) from exc


def _covered(receipts: list[StoredReceipt]) -> int:
    """How many bytes from 0 the receipts cover without a gap."""
    covered = 0
    for receipt in receipts:
        if receipt.offset != covered or receipt.length <= 0:
            break
        covered += receipt.length
    return covered


def _declared_length(download: MediaDownload) -> int | None:
    """The number of bytes a ``media_source`` body will give: its ``Content-Length``, unless it is
    content-encoded (the stream is decoded, so the declared length is not that of the bytes)."""
    encoding = download.response.headers.get("Content-Encoding", "").strip().lower()
    return download.size if encoding in ("", "identity") else None


def _refuse_empty(file: FileInput, message: str) -> FileInput:
    """``file`` (or the stream to upload in its place) when it has content; 400 when it is empty.

    Runs before anything goes upstream: a 0-byte TUS upload bound to a session is complete the
    moment it is created, and the server would then count the session's media as given.
    """
    file, empty = probe_empty(file)
    if empty:
        raise refuse(400, message)
    return file


def _not_found() -> ScriptixError:
    return refuse(404, "The requested session was not found, or did not belong to the supplied token")


@contextmanager
def _opened(file: FileInput) -> Iterator[IO[bytes]]:
    """Open a path (or pass a stream through) for the length of a ``with`` block."""
    if isinstance(file, str | os.PathLike):
        with open(file, "rb") as handle:
            yield handle
    else:
        yield file
