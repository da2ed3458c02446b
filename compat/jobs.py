"""Which session a ``transcribe`` run created, so that running the same command again continues it.

One small table in the shared state store maps a job key to a session id. The key is a hash of
what makes two runs "the same": whose (the store's keyed hash of the token, never the token), where
(the base URL), which bytes (the file's resume fingerprint: device, inode, size, modification
time and hashes of its head and tail) and how (language, media type, file name). Output options
(``--wait``, ``--format``, ``--output``) are not part of it: a rerun with ``--wait`` picks up the
session a run without it left.
"""

from __future__ import annotations

import hashlib
import json

from compat.store.interface import Store

__all__ = ["JobBook", "job_key"]


def job_key(*, owner: str, base_url: str, fingerprint: str, language: str, media_type: str, filename: str) -> str:
    """The key of one transcribe job (``owner`` is ``store.token_digest(token)``)."""
    material = json.dumps(
        {
            "owner": owner,
            "base_url": base_url,
            "fingerprint": fingerprint,
            "language": language,
            "media_type": media_type,
            "filename": filename,
        },
        sort_keys=True,
    )
    return hashlib.sha256(material.encode()).hexdigest()


class JobBook:
    """Transcribe jobs in the shared state store (the ``transcribe_jobs`` table, schema version 3)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def session_for(self, key: str) -> str | None:
        """The session an earlier run with this key created, if it has not finished."""
        return self.store.job_session(key)

    def remember(self, key: str, session_id: str) -> None:
        """Record the session this run created."""
        self.store.put_job(key, session_id)

    def forget(self, key: str) -> None:
        """Forget the job (its session is done with)."""
        self.store.delete_job(key)

    def forget_session(self, session_id: str) -> None:
        """Forget every job that points at ``session_id`` (it finished, or it is gone)."""
        self.store.delete_jobs_of_session(session_id)
