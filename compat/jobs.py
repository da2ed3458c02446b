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
import time

from compat.store import SQLiteStore

__all__ = ["JobBook", "job_key"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS transcribe_jobs (
    key TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    created_at REAL NOT NULL
);
"""


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
    """The ``transcribe_jobs`` table of a :class:`SQLiteStore`."""

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store
        for statement in filter(None, (s.strip() for s in _SCHEMA.split(";"))):
            store.execute(statement)

    def session_for(self, key: str) -> str | None:
        """The session an earlier run with this key created, if it has not finished."""
        rows = self.store.execute("SELECT session_id FROM transcribe_jobs WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def remember(self, key: str, session_id: str) -> None:
        self.store.execute(
            "INSERT OR REPLACE INTO transcribe_jobs(key, session_id, created_at) VALUES (?, ?, ?)",
            (key, session_id, time.time()),
        )

    def forget(self, key: str) -> None:
        self.store.execute("DELETE FROM transcribe_jobs WHERE key = ?", (key,))

    def forget_session(self, session_id: str) -> None:
        """Forget every job that points at ``session_id`` (it finished, or it is gone)."""
        self.store.execute("DELETE FROM transcribe_jobs WHERE session_id = ?", (session_id,))
