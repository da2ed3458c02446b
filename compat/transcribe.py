"""``scriptix-compat transcribe`` and ``result``: the work behind the two commands.

``transcribe`` checks everything it can locally before anything goes upstream (the token, the
file, its media type, the output path), prints ``session <id>`` on stderr as soon as the session
exists, and remembers which session the file went to (:mod:`compat.jobs`). Running the same
command again (same file, language, media type, token and host) continues that session: an upload
cut off resumes from the server's offset (the TUS resume key of the same bytes, metadata and token
finds it), an upload already complete is not sent again, and the job goes straight to waiting or
fetching. ``--session ID`` continues (or fetches) a given session.

``result`` fetches a session's V1 result, optionally waiting for it, and renders it like
``transcribe --wait``. Exit codes: :mod:`compat.exitcodes`.
"""

from __future__ import annotations

import mimetypes
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from compat.errors import AuthenticationError, NotFoundError, ScriptixError
from compat.exitcodes import EXIT_ERROR, EXIT_NOT_DONE, EXIT_OK
from compat.formats import Format, render
from compat.jobs import JobBook, job_key
from compat.legacy import FINAL_STATUSES, LegacyClient, WaitTimeoutError
from compat.output import check_output, write_output
from compat.progress import StatusProgress, UploadProgress
from compat.sessions import SessionNotOwnedError
from compat.v1.validation import validate_session_id, validate_upload
from compat.v3.source import SourceFingerprint

__all__ = ["Connection", "Delivery", "MediaFile", "check_media", "fetch_result", "is_url", "transcribe"]

MediaState = Literal["gone", "needs_media", "has_media"]


@dataclass(frozen=True)
class Connection:
    """How to reach Scriptix: ``--api-key``, ``--base-url``, ``--allow-private-media``."""

    api_key: str | None = None
    base_url: str | None = None
    allow_private_media: bool = False

    def open(self) -> LegacyClient:
        return LegacyClient(api_key=self.api_key, base_url=self.base_url, allow_private_media=self.allow_private_media)


@dataclass(frozen=True)
class Delivery:
    """What to do once the media is up: wait or not, and where the answer goes in which format."""

    wait: bool = False
    timeout: float = 3600.0
    poll_interval: float = 5.0
    fmt: Format = "json"
    output: Path | None = None
    progress: bool = True


@dataclass(frozen=True)
class MediaFile:
    """A checked media file: readable, not empty, audio or video, with a name V1 can carry."""

    path: Path
    filename: str
    media_type: str
    size: int
    fingerprint: str


def is_url(source: str) -> bool:
    """Whether ``transcribe``'s source is a URL for the shim to fetch (V1 ``media_source``)."""
    return source.startswith(("http://", "https://"))


def check_media(source: str, content_type: str | None = None) -> MediaFile:
    """Check a media file before anything goes upstream; ``ValueError`` says what is wrong."""
    path = Path(source)
    if not path.is_file():
        reason = "it is a folder" if path.is_dir() else "no such file"
        raise ValueError(f"not a file: {source} ({reason})")
    try:
        with open(path, "rb") as handle:
            size = path.stat().st_size
            fingerprint = SourceFingerprint().get_fingerprint(handle)
    except OSError as exc:
        raise ValueError(f"cannot read {source}: {exc.strerror}") from None
    if size == 0:
        raise ValueError(f"{source} is empty: there is nothing to transcribe")
    guessed = content_type or mimetypes.guess_type(path.name)[0]
    try:
        media_type, filename = validate_upload(content_type=guessed, filename=path.name, content_length=size)
    except ScriptixError as exc:
        if exc.status_code == 415:
            kind = f"of type {guessed}" if guessed else "of no known media type"
            raise ValueError(
                f"{source} is {kind}: Scriptix transcribes audio/* and video/* only "
                "(if it is audio or video, say so with --content-type, e.g. --content-type audio/wav)"
            ) from None
        raise ValueError(f"{source}: its name cannot be sent as the upload's file name ({exc}); rename it") from None
    return MediaFile(path, filename, media_type, size, fingerprint)


def require_token(client: LegacyClient) -> str:
    """The configured token, or a 401 that says where a token comes from (nothing was sent)."""
    token = client.v3.settings.token()
    if token is None:
        message = "Unauthorized: no API token: pass --api-key TOKEN or set SCRIPTIX_API_KEY"
        raise AuthenticationError(message, status_code=401)
    return token


def transcribe(
    source: str | None,
    *,
    language: str | None,
    session_id: str | None = None,
    content_type: str | None = None,
    connection: Connection,
    delivery: Delivery,
) -> int:
    """Run ``scriptix-compat transcribe``; returns the exit code.

    ``source`` is a file, a URL, or ``None`` with ``session_id`` (fetch that session's result).
    The combinations were checked by the parser (a language unless continuing a session, json
    output unless waiting).
    """
    with connection.open() as client:
        token = require_token(client)
        if source is not None and is_url(source):
            check_output(delivery.output)
            return _transcribe_url(client, source, language or "", delivery)
        media = check_media(source, content_type) if source is not None else None
        check_output(delivery.output)
        return _FileJob(client, token, delivery).run(media, language, session_id)


def fetch_result(session_id: str, *, connection: Connection, delivery: Delivery) -> int:
    """Run ``scriptix-compat result``; returns the exit code."""
    _check_session_id(session_id)
    check_output(delivery.output)
    with connection.open() as client:
        require_token(client)
        jobs = JobBook(client.v3.store)
        try:
            return _deliver(client, session_id, delivery, on_final=lambda: jobs.forget_session(session_id))
        except KeyboardInterrupt:
            _say(f"interrupted: session {session_id} keeps running on Scriptix; {_fetch_hint(session_id, delivery)}")
            raise


class _FileJob:
    """One ``transcribe`` of a file: pick (or continue) the session, upload what is missing, deliver."""

    def __init__(self, client: LegacyClient, token: str, delivery: Delivery) -> None:
        self.client = client
        self.token = token
        self.delivery = delivery
        self.jobs = JobBook(client.v3.store)

    def run(self, media: MediaFile | None, language: str | None, session_id: str | None) -> int:
        if session_id is not None:
            state = self._given(session_id, media)
        else:
            key = self._key(media, language) if media is not None and language is not None else None
            continued = self._continued(key) if key is not None else None
            if continued is not None:
                session_id, state = continued
            else:
                session_id, state = self._create(language or ""), "needs_media"
                if key is not None:
                    self.jobs.remember(key, session_id)
                _say(f"session {session_id}")
        uploaded = state == "has_media"
        try:
            if not uploaded:
                if media is None:
                    raise ValueError(
                        f"session {session_id} has no media yet: give the file to upload, "
                        f"e.g. scriptix-compat transcribe FILE --session {session_id}"
                    )
                self._upload(session_id, media)
                uploaded = True
            return _deliver(self.client, session_id, self.delivery, on_final=lambda: self._finished(session_id))
        except KeyboardInterrupt:
            self._say_how_to_continue(session_id, media, uploaded)
            raise

    def _given(self, session_id: str, media: MediaFile | None) -> MediaState:
        """``--session ID``: it must exist for this token; whether it still needs its media."""
        _check_session_id(session_id)
        state = self._media_state(session_id)
        if state == "gone":
            raise NotFoundError(
                f"session {session_id} was not found for this token (deleted, or another account's)", status_code=404
            )
        _say(f"session {session_id}")
        if state == "has_media" and media is not None:
            _say(f"session {session_id} already has its media: {media.path} is not sent again")
        return state

    def _key(self, media: MediaFile, language: str) -> str:
        return job_key(
            owner=self.client.v3.store.token_digest(self.token),
            base_url=self.client.v3.settings.base_url,
            fingerprint=media.fingerprint,
            language=language,
            media_type=media.media_type,
            filename=media.filename,
        )

    def _continued(self, key: str) -> tuple[str, MediaState] | None:
        """The session an earlier, unfinished run of the same command created, if it still exists."""
        session_id = self.jobs.session_for(key)
        if session_id is None:
            return None
        state = self._media_state(session_id)
        if state == "gone":
            _say(f"session {session_id} of an earlier run of this command is gone upstream; starting a new one")
            self.jobs.forget(key)
            return None
        what = "its media is uploaded" if state == "has_media" else "its upload resumes where the server stopped"
        _say(f"session {session_id} (continuing an earlier run of this command: {what})")
        return session_id, state

    def _media_state(self, session_id: str) -> MediaState:
        """Whether the session exists and already has its media (so it must not be sent again)."""
        try:
            answer = self.client.get_result(session_id)
        except NotFoundError:
            return "gone"
        try:
            record = self.client.translator.sessions.open(self.token, session_id)
        except SessionNotOwnedError:  # another token's since the answer above: not this machine's upload
            record = None
        if record and record.state == "uploading":
            lease = self.client.v3.settings.claim_lease
            raise ValueError(
                f"session {session_id} is being uploaded by another process right now (or by one that stopped "
                f"less than {lease:g} s ago); wait for it, then run the same command again"
            )
        if record:
            return "has_media" if record.state == "uploaded" else "needs_media"
        status = answer.get("result", {}).get("status")  # a session this machine did not upload to
        return "needs_media" if status in (None, "new") else "has_media"

    def _create(self, language: str) -> str:
        session_id: str = self.client.create_session(language)["result"]["session_id"]
        return session_id

    def _upload(self, session_id: str, media: MediaFile) -> None:
        with UploadProgress(media.size, enabled=self.delivery.progress) as progress:
            self.client.upload(
                session_id, media.path, filename=media.filename, content_type=media.media_type, on_progress=progress
            )

    def _finished(self, session_id: str) -> None:
        self.jobs.forget_session(session_id)

    def _say_how_to_continue(self, session_id: str, media: MediaFile | None, uploaded: bool) -> None:
        if uploaded:
            _say(
                f"interrupted: session {session_id} keeps running on Scriptix; {_fetch_hint(session_id, self.delivery)}"
            )
            return
        file = shlex.quote(str(media.path)) if media is not None else "FILE"
        _say(
            f"interrupted: session {session_id} and its partial upload are kept. To continue, run the same "
            f"command again (the upload resumes where the server stopped), or: "
            f"scriptix-compat transcribe {file} --session {session_id}"
        )


def _transcribe_url(client: LegacyClient, url: str, language: str, delivery: Delivery) -> int:
    _say(f"asking Scriptix's shim to fetch {url} ...")
    session_id: str = client.create_session(language, media_source=url)["result"]["session_id"]
    _say(f"session {session_id}")
    try:
        return _deliver(client, session_id, delivery, on_final=lambda: None)
    except KeyboardInterrupt:
        _say(f"interrupted: session {session_id} keeps running on Scriptix; {_fetch_hint(session_id, delivery)}")
        raise


def _deliver(client: LegacyClient, session_id: str, delivery: Delivery, *, on_final: Callable[[], None]) -> int:
    """Fetch (or wait for) the result and write it; the exit code."""
    if delivery.wait:
        try:
            answer = _wait(client, session_id, delivery)
        except WaitTimeoutError as exc:
            _say(
                f"scriptix-compat: session {session_id} is not done after {delivery.timeout:g} s "
                f"(last status {exc.last_status!r}); it keeps running: {_fetch_hint(session_id, delivery)}"
            )
            print(session_id)
            return EXIT_NOT_DONE
    else:
        answer = client.get_result(session_id)
    status = answer.get("result", {}).get("status")
    if status == "done":
        write_output(delivery.output, render(answer, delivery.fmt))
        on_final()
        return EXIT_OK
    if status == "failed":
        _say(f"scriptix-compat: session {session_id} failed: {answer['result'].get('error')}")
        write_output(delivery.output, render(answer, "json"))
        on_final()
        return EXIT_ERROR
    if delivery.fmt == "json":
        write_output(delivery.output, render(answer, "json"))
        return EXIT_OK
    _say(
        f"scriptix-compat: session {session_id} is not done yet (status {status!r}): --format {delivery.fmt} "
        f"needs a finished transcript; add --wait, or use --format json to see where it is"
    )
    print(session_id)
    return EXIT_NOT_DONE


def _wait(client: LegacyClient, session_id: str, delivery: Delivery) -> dict[str, Any]:
    started = time.monotonic()
    with StatusProgress(enabled=delivery.progress) as shown:
        while True:
            answer = client.get_result(session_id)
            status = answer.get("result", {}).get("status")
            shown.update(status)
            if status in FINAL_STATUSES:
                return answer
            elapsed = time.monotonic() - started
            if elapsed + delivery.poll_interval > delivery.timeout:
                raise WaitTimeoutError(session_id, elapsed, status)
            time.sleep(delivery.poll_interval)


def _fetch_hint(session_id: str, delivery: Delivery) -> str:
    fmt = f" --format {delivery.fmt}" if delivery.fmt != "json" else ""
    output = f" --output {shlex.quote(str(delivery.output))}" if delivery.output is not None else ""
    return f"fetch it later with: scriptix-compat result {session_id} --wait{fmt}{output}"


def _check_session_id(session_id: str) -> None:
    try:
        validate_session_id(session_id)
    except ScriptixError:
        raise ValueError(f"not a session id: {session_id!r}") from None


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
