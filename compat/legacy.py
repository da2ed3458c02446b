"""``LegacyClient``: the V1 endpoints as methods, V1 JSON out, V3 underneath."""

from __future__ import annotations

import mimetypes
import os
import random
import time
from collections import deque
from pathlib import Path
from typing import Any

from typing_extensions import Unpack

from compat.closing import Closing
from compat.config import Settings
from compat.errors import AuthenticationError, ConfigurationError, WaitTimeoutError
from compat.hooks import caller_site, on_legacy_call
from compat.options import OptionOverrides, resolve_options
from compat.shadow import Difference, shadow_compare
from compat.translate import Translator
from compat.v3.client import V3Client
from compat.v3.source import FileInput
from compat.v3.tus import ProgressCallback

__all__ = ["LegacyClient", "WaitTimeoutError"]

FINAL_STATUSES = frozenset({"done", "failed"})
VIA = "LegacyClient"  # the surface's name in legacy-call reports (compat.hooks)
NO_TOKEN = "Unauthorized: no API token: pass api_key= to LegacyClient or set SCRIPTIX_API_KEY"


class LegacyClient(Closing):
    """The Scriptix Batch API V1, kept: each method is one V1 endpoint and returns its V1 JSON.

    >>> client = LegacyClient(api_key="...")                                 # doctest: +SKIP
    >>> session = client.create_session("en", punctuation=True)              # doctest: +SKIP
    >>> client.upload(session["result"]["session_id"], "talk.wav")           # doctest: +SKIP
    >>> client.wait(session["result"]["session_id"])["result"]["status"]     # doctest: +SKIP
    'done'

    ``shadow_rate`` (0..1) with ``shadow_base_url`` (a V1 service) compares that share of
    ``get_result`` answers with the V1 service's own and records differences in
    :attr:`shadow_mismatches` (and the ``compat.verify`` log) without changing the answer.

    Underneath, sessions are created without ``media_source`` and media goes up as a resumable
    TUS upload (see MIGRATION.md). Failures raise :class:`compat.ScriptixError` subclasses with
    ``.status_code`` and ``.body`` (the V1 error JSON).
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        options: Settings | None = None,
        shadow_rate: float = 0.0,
        shadow_base_url: str | None = None,
        **overrides: Unpack[OptionOverrides],
    ) -> None:
        if not 0.0 <= shadow_rate <= 1.0 or (shadow_rate > 0 and not shadow_base_url):
            raise ConfigurationError(
                "option 'shadow_rate' must be between 0 and 1, and needs shadow_base_url (a V1 service)",
                option="shadow_rate",
            )
        self.shadow_rate = shadow_rate
        self.shadow_base_url = shadow_base_url.rstrip("/") if shadow_base_url else None
        self.shadow_mismatches: deque[tuple[str, list[Difference]]] = deque(maxlen=100)
        """Recent ``(session_id, differences)`` found by shadow runs (see ``shadow_rate``)."""
        self.options, store = resolve_options(options, {"api_key": api_key, "base_url": base_url, **overrides})
        self.v3 = V3Client(settings=self.options, store=store)
        self.translator = Translator(self.v3, self.options)

    def __repr__(self) -> str:
        return f"LegacyClient(base_url={self.v3.settings.base_url!r}, api_key=<redacted>)"

    def close(self) -> None:
        """Close the connection pools, and the store if this client opened it (one passed in as
        ``store=`` stays open). A transfer still running is not stopped: it runs to its end, and
        what it needs is closed once it has ended."""
        self.translator.close()
        self.translator.transfers.after(self.v3.close)

    @property
    def _token(self) -> str:
        """The configured token; without one, a 401 (V1 body) naming where a token comes from, sent nowhere."""
        token = self.v3.settings.token()
        if token is None:
            raise AuthenticationError(NO_TOKEN, status_code=401)
        return token

    def create_session(self, language: str, **v1_fields: Any) -> dict[str, Any]:
        """V1 ``POST /api/v3/speech-to-text/session``: ``language`` plus any V1 body field
        (``webhook_url``, ``webhook_method``, ``webhook_headers``, ``keep_source``, ``media_source``,
        ``punctuation``, ``multichannel``, ``document``, ``meta_data``)."""
        operation = "media_source" if v1_fields.get("media_source") is not None else "create_session"
        on_legacy_call(operation, caller_site(), VIA)
        return self.translator.create_session(self._token, {"language": language, **v1_fields})

    def upload(
        self,
        session_id: str,
        file: FileInput,
        filename: str | None = None,
        content_type: str | None = None,
        *,
        on_progress: ProgressCallback | None = None,
    ) -> dict[str, Any]:
        """V1 ``PUT …/session/{id}``: upload media (a path or a binary stream).

        ``filename`` is V1's ``x-filename`` (default: the file's name); ``content_type`` must be
        ``audio/*`` or ``video/*`` (default: guessed from the name).
        """
        on_legacy_call("upload", caller_site(), VIA)
        name = filename or _name_of(file)
        kind = content_type or _guess_type(name)
        return self.translator.upload(
            self._token, session_id, file, content_type=kind, filename=name, on_progress=on_progress
        )

    def align(
        self,
        session_id: str,
        media: FileInput,
        transcript: FileInput,
        *,
        media_filename: str | None = None,
        content_type: str | None = None,
    ) -> dict[str, Any]:
        """V1 ``POST …/session/{id}/align``: media plus its known-good transcript."""
        on_legacy_call("align", caller_site(), VIA)
        name = media_filename or _name_of(media)
        return self.translator.align(
            self._token,
            session_id,
            media,
            transcript,
            media_type=content_type or _guess_type(name),
            media_filename=name,
            transcript_filename=_name_of(transcript) if _name_of(transcript) != "upload" else None,
        )

    def get_result(self, session_id: str) -> dict[str, Any]:
        """V1 ``GET …/session/{id}/result``; ``result.status`` is ``"done"`` when finished."""
        on_legacy_call("get_result", caller_site(), VIA)
        token = self._token
        answer = self.translator.get_result(token, session_id)
        if self.shadow_base_url and random.random() < self.shadow_rate:
            differences = shadow_compare(answer, session_id, token, self.shadow_base_url)
            if differences:
                self.shadow_mismatches.append((session_id, differences))
        return answer

    def delete(self, session_id: str) -> dict[str, Any]:
        """V1 ``DELETE …/session/{id}``; also stops this client's upload for it, if any."""
        on_legacy_call("delete", caller_site(), VIA)
        return self.translator.delete(self._token, session_id)

    def wait(self, session_id: str, timeout: float = 3600.0, poll_interval: float = 5.0) -> dict[str, Any]:
        """Poll ``get_result`` until the status is ``done`` or ``failed``; return that result.

        Gives up after ``timeout`` seconds with :class:`WaitTimeoutError`, which names the
        session: the job keeps running on Scriptix and can be fetched later.
        """
        started = time.monotonic()
        status: str | None = None
        while True:
            result = self.get_result(session_id)
            status = result.get("result", {}).get("status")
            if status in FINAL_STATUSES:
                return result
            elapsed = time.monotonic() - started
            if elapsed + poll_interval > timeout:
                raise WaitTimeoutError(session_id, elapsed, status)
            time.sleep(poll_interval)


def _name_of(file: FileInput) -> str:
    if isinstance(file, str | os.PathLike):
        return Path(file).name
    name = getattr(file, "name", None)
    return Path(name).name if isinstance(name, str) and name else "upload"


def _guess_type(name: str) -> str | None:
    guessed, _ = mimetypes.guess_type(name)
    return guessed
