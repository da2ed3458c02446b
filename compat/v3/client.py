"""``V3Client``: the first-class client of what Scriptix speaks today."""

from __future__ import annotations

import copy
import io
import re
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import IO, Any, cast
from urllib.parse import quote

import requests
from typing_extensions import Unpack

from compat.closing import Closing
from compat.config import Settings, TransportOverrides, take_store_object
from compat.errors import InvalidRequestError, ScriptixError
from compat.store import Store, open_store
from compat.v3.forward import ForwardSource
from compat.v3.models import (
    FileInfo,
    Session,
    SessionSummary,
    Transcript,
    TusCapabilities,
    UploadResult,
    unwrap,
)
from compat.v3.receipts import ChunkCallback, ChunkReceipt, as_receipt
from compat.v3.source import ChunkSource, FileInput, is_seekable, open_source
from compat.v3.spool import MEMORY_BOUND
from compat.v3.transport import AFTER_LOST_ANSWER, Transport, error_from_response, parse_retry_after
from compat.v3.tus import OpenCallback, ProgressCallback, ResumableUploader, TusEndpoint
from compat.v3.tus.protocol import DEFER_LENGTH_EXTENSION

__all__ = ["REQUIRED_METADATA", "V3Client"]

REQUIRED_METADATA = ("language", "document_type")
_SESSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$")
_METADATA_KEY = re.compile(r"^[^\s,]+$")


class V3Client(Closing):
    """A client for the Scriptix V3 batch API: sessions, results and resumable TUS uploads.

    Options resolve as keyword, then environment (``SCRIPTIX_API_KEY``, ``SCRIPTIX_BASE_URL``,
    ``SCRIPTIX_COMPAT_TIMEOUT``, ``SCRIPTIX_COMPAT_MAX_RETRIES``, ``SCRIPTIX_COMPAT_CHUNK_SIZE``,
    ``SCRIPTIX_COMPAT_STORE``), then defaults; see :class:`compat.config.Settings` for all of them.
    ``settings=`` passes them resolved already (a :class:`compat.Settings`, or the
    :class:`compat.Options` of a surface); keywords then override it. ``store`` may also be an open
    store, used as it is and left open by :meth:`close`; a store this client opened itself (from a
    path or URL) is closed by :meth:`close`.

    >>> with V3Client(api_key="...") as client:                      # doctest: +SKIP
    ...     result = client.upload("talk.wav", {"language": "en", "document_type": "caption"})
    ...     client.get_result(result.session_id)

    Every request has a timeout; 429/503 honour ``Retry-After``; an upload survives dropped
    connections, 5xx answers and a killed process (run the same upload again to resume).
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        settings: Settings | None = None,
        **overrides: Unpack[TransportOverrides],
    ) -> None:
        values: dict[str, Any] = {"api_key": api_key, "base_url": base_url, **overrides}
        store = take_store_object(values)
        self.settings = Settings.resolve(**values) if settings is None else settings.updated(**values)
        self.transport = Transport(self.settings)
        self.store: Store = store if store is not None else open_store(self.settings.store)
        self._own_store = store is None
        self._token: str | None = self.settings.token()
        self._tus = TusEndpoint(self.settings.tus_endpoint, self.transport, token=self._token)
        self._active: dict[str, threading.Event] = {}
        self._active_lock = threading.Lock()
        # What each TUS endpoint advertises, asked once (shared with the with_token views).
        self._capability_cache: dict[str, TusCapabilities] = {}

    def __repr__(self) -> str:
        return f"V3Client(base_url={self.settings.base_url!r}, api_key=<redacted>)"

    def close(self) -> None:
        """Close the connection pool, and the store if this client opened it (one passed in as
        ``store=`` stays open for its owner)."""
        self.transport.close()
        if self._own_store:
            self.store.close()

    def with_token(self, token: str) -> V3Client:
        """A view of this client that acts with another token (same pool, same store; closing the
        view leaves the store open)."""
        view = copy.copy(self)
        view._own_store = False
        view._token = token
        view._tus = TusEndpoint(self.settings.tus_endpoint, self.transport, token=token)
        return view

    # sessions -----------------------------------------------------------------------------

    def create_session(self, **fields: Any) -> SessionSummary:
        """``POST /api/v3/speech-to-text/session`` with ``fields`` as the JSON body."""
        body = self._json("POST", self.settings.session_endpoint, json=fields)
        return SessionSummary.model_validate(unwrap(body))

    def get_session(self, session_id: str) -> Session:
        """``GET /api/v3/speech-to-text/session/{id}``: the session's state."""
        return Session.model_validate(unwrap(self._json("GET", self._session_url(session_id))))

    def get_result(self, session_id: str) -> Transcript:
        """``GET /api/v3/speech-to-text/session/{id}/result``: the transcript and its status."""
        return Transcript.model_validate(unwrap(self._json("GET", self._session_url(session_id) + "/result")))

    def delete_session(self, session_id: str) -> dict[str, Any]:
        """``DELETE /api/v3/speech-to-text/session/{id}``; also cancels this client's upload for it
        (one started without ``cancel=``, see :meth:`upload`).

        When an earlier attempt went unanswered (a timeout, a dropped connection) and the retry hears
        400 "already removed", that 400 is this call's own success: it answers as deleted.
        """
        self.cancel_upload(session_id)
        url = self._session_url(session_id)
        response = self.transport.request("DELETE", url, token=self._token, raise_for_status=False)
        if response.status_code == 400 and getattr(response, AFTER_LOST_ANSWER, False):
            return {"result": {"session_id": session_id, "status": "deleted"}}
        if response.status_code >= 400:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise error_from_response(response, method="DELETE", retry_after=retry_after)
        body = _parse_json(response, "DELETE", url)
        return body if isinstance(body, dict) else {}

    # uploads ------------------------------------------------------------------------------

    def upload(
        self,
        file: FileInput,
        metadata: Mapping[str, str | bool | int],
        on_progress: ProgressCallback | None = None,
        *,
        cancel: threading.Event | None = None,
        resolve_session: bool = True,
        length: int | None = None,
        resume_key: str | None = None,
        on_chunk: ChunkCallback | None = None,
        receipts: Iterable[ChunkReceipt | tuple[int, int, str]] | None = None,
        trust_unrecorded: bool = False,
        max_spool: int | None = None,
        on_open: OpenCallback | None = None,
        prefix_keep: int | None = None,
    ) -> UploadResult:
        """Upload ``file`` (a path or a binary stream) to ``/api/v3/files/`` over TUS.

        ``metadata`` becomes ``Upload-Metadata`` (booleans as ``"true"``/``"false"``);
        ``language`` and ``document_type`` are required by Scriptix. ``on_progress(done, total)``
        is called as bytes go out and never goes back (``total`` is 0 while the length is not
        known).

        Set ``cancel`` to stop the upload and terminate it on the server: a caller that passes its
        own event owns the upload's cancellation. Without one, an upload bound to a session
        (``metadata["session_id"]``) is booked under that id, and :meth:`cancel_upload` or
        :meth:`delete_session` of this client (or of a :meth:`with_token` view) stops it.

        How the bytes are read:

        * a path or a seekable stream is read in place (from the stream's position); ``length``,
          when given, must be its size;
        * a stream that cannot seek (a request body, a pipe) with ``length`` (its
          ``Content-Length``) is sent as it is read: the first PATCH leaves with the first bytes
          and only the chunk in flight is kept (memory up to 8 MiB, one temporary file above), to
          send again after a failed PATCH. If it ends before ``length`` bytes, an
          :class:`~compat.errors.UploadError` is raised and the upload stays resumable;
        * one without ``length`` is sent the same way with a deferred length when the server
          advertises ``creation-defer-length`` (``OPTIONS``, asked once per endpoint): each chunk
          is read whole before it is sent; otherwise it is spooled to a temporary file first, at
          most ``max_spool`` bytes (and the server's ``Tus-Max-Size``), else a 413
          :class:`~compat.errors.InvalidRequestError` before anything goes upstream.

        Resuming: by default a later call resumes an unfinished upload of the same bytes with
        the same metadata (a path or a spooled stream; a forward-only stream is never hashed
        before it is sent, so it is not). ``resume_key`` names the upload instead (the endpoint
        and the token stay part of it). ``on_chunk(receipt)`` is called with a
        :class:`~compat.v3.receipts.ChunkReceipt` ``(offset, length, digest)`` for each run of
        bytes the server confirmed, hashed as it went out; keep them, and hand them back as
        ``receipts`` on a retry with the same ``resume_key``: the body's bytes up to the
        server's offset are then read and checked against them rather than sent again, and on
        a mismatch the stored upload is terminated and a new one started from 0 with the bytes
        already read (see :func:`~compat.v3.receipts.verify_prefix`). Bytes the server holds
        that no receipt covers (the PATCH in flight when an earlier attempt died) count as
        matching only with ``trust_unrecorded=True``. A forward-only body with no receipts is
        resumed only with ``trust_unrecorded=True``. ``on_open(upload_url, created, length)`` is called
        before the first byte goes to an upload: ``created`` for a new one (receipts of any earlier
        upload under the key no longer apply: drop them there), else a stored one resumed. While a
        forward-only body is checked, up to ``prefix_keep`` bytes of it are kept (default: one
        chunk; memory up to 8 MiB, a temporary file above) so that a body found to differ further
        in can still start the new upload; past that, the stored upload is terminated and an
        :class:`~compat.errors.UploadError` asks for the body again. An
        upload the server already holds whole is
        never replaced: if the body cannot be shown to match it, :class:`~compat.errors.UploadError` is raised
        (with its ``upload_url``) and it is left as it is.

        The session id is ``metadata["session_id"]`` when given; otherwise it is read from
        ``GET /api/v3/files/{id}``, polling up to ``session_poll_timeout`` seconds (``None`` if the
        server has not named it by then, or with ``resolve_session=False``).
        """
        encoded = _encode_metadata(metadata)
        if length is not None and (isinstance(length, bool) or not isinstance(length, int) or length < 0):
            raise InvalidRequestError("length must be a non-negative integer (the number of bytes of the body)")
        if resume_key is not None and (not isinstance(resume_key, str) or not resume_key):
            raise InvalidRequestError("resume_key must be a non-empty string")
        checked = None if receipts is None else [as_receipt(receipt) for receipt in receipts]
        event = cancel if cancel is not None else threading.Event()
        keys = [] if cancel is not None else [k for k in (encoded.get("session_id"),) if k]
        with (
            self._registered(keys, event),
            self._open_upload_source(
                file,
                length=length,
                keyed=resume_key is not None,
                receipts=checked,
                trust_unrecorded=trust_unrecorded,
                max_spool=max_spool,
                prefix_keep=prefix_keep,
            ) as source,
        ):
            uploader = ResumableUploader(
                self._tus,
                source,
                metadata=encoded,
                chunk_size=self.settings.chunk_size,
                store=self.store,
                token_digest=self.store.token_digest(self._token),
                on_progress=on_progress,
                cancelled=event,
                key=resume_key,
                on_chunk=on_chunk,
                on_open=on_open,
            )
            uploader.upload()
            upload_url = str(uploader.url)
            size = source.size if source.size is not None else uploader.offset
        session_id = encoded.get("session_id")
        if session_id is None and resolve_session:
            session_id = self._poll_session_id(upload_url)
        return UploadResult(
            upload_url=upload_url,
            session_id=session_id,
            size=size,
            resumed_from=uploader.resumed_from,
            metadata=encoded,
        )

    @contextmanager
    def _open_upload_source(
        self,
        file: FileInput,
        *,
        length: int | None,
        keyed: bool,
        receipts: list[ChunkReceipt] | None,
        trust_unrecorded: bool,
        max_spool: int | None,
        prefix_keep: int | None = None,
    ) -> Iterator[ChunkSource]:
        """The source :meth:`upload` reads from (see its docstring for the choice)."""
        if not is_seekable(file) and hasattr(file, "read") and not isinstance(file, io.TextIOBase):
            stream = cast(IO[bytes], file)
            if length is None:
                deferred, server_max = self._deferred_length()
                if not deferred:
                    bounds = [bound for bound in (max_spool, server_max) if bound is not None]
                    with open_source(file, max_size=min(bounds, default=None), hash_content=not keyed) as spooled:
                        spooled.receipts, spooled.trust_unrecorded = receipts, trust_unrecorded
                        yield spooled
                    return
            with ForwardSource(
                stream,
                length,
                memory_bound=MEMORY_BOUND,
                receipts=receipts or (),
                trust_unrecorded=trust_unrecorded,
                prefix_keep=self.settings.chunk_size if prefix_keep is None else prefix_keep,
            ) as forward:
                yield forward
            return
        with open_source(file) as source:
            if length is not None and source.size != length:
                raise InvalidRequestError(f"length is {length}, but the file has {source.size} bytes")
            source.receipts, source.trust_unrecorded = receipts, trust_unrecorded
            yield source

    def _deferred_length(self) -> tuple[bool, int | None]:
        """Whether the TUS server takes ``Upload-Defer-Length``, and its ``Tus-Max-Size``.

        Asked once per endpoint (``OPTIONS``); when it cannot be asked, the answer is no, for now.
        """
        capabilities = self._capability_cache.get(self._tus.url)
        if capabilities is None:
            try:
                capabilities = self.capabilities()
            except ScriptixError:
                return False, None
            self._capability_cache[self._tus.url] = capabilities
        return DEFER_LENGTH_EXTENSION in capabilities.extensions, capabilities.max_size

    def cancel_upload(self, key: str) -> bool:
        """Cancel this client's upload in flight for a session id (one started without ``cancel=``);
        True if there was one."""
        with self._active_lock:
            event = self._active.get(key)
        if event is None:
            return False
        event.set()
        return True

    def is_uploading(self, key: str) -> bool:
        """Whether this client has an upload in flight for a session id (one started without ``cancel=``)."""
        with self._active_lock:
            return key in self._active

    def terminate(self, upload_url: str) -> None:
        """``DELETE`` a TUS upload (termination); one already gone is not an error."""
        self._tus.terminate(upload_url)
        self.store.remove_url(upload_url)

    def file_info(self, upload_url: str) -> FileInfo:
        """``GET /api/v3/files/{id}``: the session the upload feeds and its metadata."""
        body = self._json("GET", upload_url, headers={"Accept": "application/json"})
        return FileInfo.model_validate(unwrap(body))

    def capabilities(self) -> TusCapabilities:
        """``OPTIONS /api/v3/files/``: versions, extensions and maximum size the server advertises."""
        response = self._tus.options()
        max_size = response.headers.get("Tus-Max-Size", "")
        return TusCapabilities(
            versions=_csv(response.headers.get("Tus-Version")),
            extensions=_csv(response.headers.get("Tus-Extension")),
            max_size=int(max_size) if max_size.isdigit() else None,
        )

    # helpers ------------------------------------------------------------------------------

    def _json(self, method: str, url: str, **kwargs: Any) -> Any:
        response = self.transport.request(method, url, token=self._token, **kwargs)
        return _parse_json(response, method, url)

    def _session_url(self, session_id: str) -> str:
        if not isinstance(session_id, str) or not _SESSION_ID.fullmatch(session_id):
            raise InvalidRequestError(f"invalid session id {str(session_id)[:40]!r}")
        return f"{self.settings.session_endpoint}/{quote(session_id, safe='')}"

    def _poll_session_id(self, upload_url: str) -> str | None:
        deadline = time.monotonic() + self.settings.session_poll_timeout
        delay = 0.1
        while True:
            try:
                info = self.file_info(upload_url)
                if info.session_id:
                    return info.session_id
            except (ScriptixError, requests.RequestException, ValueError):
                pass
            if time.monotonic() + delay > deadline:
                return None
            self.transport.sleep(delay)
            delay = min(delay * 2, 2.0)

    @contextmanager
    def _registered(self, keys: list[str], event: threading.Event) -> Iterator[None]:
        with self._active_lock:
            for key in keys:
                self._active[key] = event
        try:
            yield
        finally:
            with self._active_lock:
                for key in keys:
                    if self._active.get(key) is event:
                        del self._active[key]


def _parse_json(response: requests.Response, method: str, url: str) -> Any:
    if not response.content:
        return {}
    try:
        return response.json()
    except ValueError:
        raise ScriptixError(
            f"{method} {url} answered {response.status_code} with a body that is not JSON",
            status_code=response.status_code,
        ) from None


def _encode_metadata(metadata: Mapping[str, str | bool | int]) -> dict[str, str]:
    if not isinstance(metadata, Mapping):
        raise InvalidRequestError("metadata must be a mapping of names to values")
    encoded: dict[str, str] = {}
    for key, value in metadata.items():
        if not isinstance(key, str) or not _METADATA_KEY.fullmatch(key):
            raise InvalidRequestError(f"metadata key {key!r} must be non-empty, without spaces or commas")
        if isinstance(value, bool):
            encoded[key] = "true" if value else "false"
        elif isinstance(value, str | int):
            encoded[key] = str(value)
        else:
            raise InvalidRequestError(f"metadata {key!r} must be a string, a boolean or an integer")
    missing = [k for k in REQUIRED_METADATA if not encoded.get(k)]
    if missing:
        raise InvalidRequestError(f"metadata is missing {', '.join(missing)} (required by Scriptix)")
    return encoded


def _csv(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]
