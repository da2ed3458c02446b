"""What the shim remembers of each V1 session it created: owner, V1 options, transfer state.

The owner is a keyed hash of the caller's token. The V1 options (which may hold webhook headers
with credentials) are encrypted with a key derived from the caller's token, so the store alone
cannot reveal them: only a call made with the same token can read them back.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from compat.store import SQLiteStore

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

__all__ = ["SessionBook", "SessionRecord", "TransferState"]

TransferState = Literal["new", "uploading", "uploaded", "failed"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    options BLOB NOT NULL,
    state TEXT NOT NULL,
    filename TEXT,
    media_type TEXT,
    error TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
"""


@dataclass
class SessionRecord:
    """One session as the shim knows it."""

    session_id: str
    owner: str
    options: dict[str, Any] = field(default_factory=dict)
    state: TransferState = "new"
    filename: str | None = None
    media_type: str | None = None
    error: str | None = None


class SessionBook:
    """Session records in the shared :class:`SQLiteStore`."""

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store
        for statement in filter(None, (s.strip() for s in _SCHEMA.split(";"))):
            store.execute(statement)

    def owner_of(self, token: str) -> str:
        return self.store.token_digest(token)

    def _cipher(self, token: str) -> Fernet:
        from cryptography.fernet import Fernet  # imported on use: V3-only callers never pay for it

        key = hmac.new(self.store.token_digest(token).encode(), b"v1-options", hashlib.sha256).digest()
        return Fernet(base64.urlsafe_b64encode(key))

    def remember(self, token: str, session_id: str, options: dict[str, Any], state: TransferState = "new") -> None:
        sealed = self._cipher(token).encrypt(json.dumps(options).encode())
        now = time.time()
        self.store.execute(
            "INSERT OR REPLACE INTO sessions(session_id, owner, options, state, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (session_id, self.owner_of(token), sealed, state, now, now),
        )

    def get(self, session_id: str) -> tuple[SessionRecord, bytes] | None:
        rows = self.store.execute(
            "SELECT owner, options, state, filename, media_type, error FROM sessions WHERE session_id = ?",
            (session_id,),
        )
        if not rows:
            return None
        owner, sealed, state, filename, media_type, error = rows[0]
        record = SessionRecord(session_id, owner, {}, state, filename, media_type, error)
        return record, bytes(sealed)

    def open(self, token: str, session_id: str) -> SessionRecord | Literal[False] | None:
        """The record with its options if ``token`` owns it; ``None`` if unknown; ``False`` if not theirs."""
        found = self.get(session_id)
        if found is None:
            return None
        record, sealed = found
        if not hmac.compare_digest(record.owner, self.owner_of(token)):
            return False
        from cryptography.fernet import InvalidToken

        try:
            record.options = json.loads(self._cipher(token).decrypt(sealed))
        except InvalidToken:
            return False
        return record

    def update(self, session_id: str, **fields: Any) -> None:
        allowed = {"state", "filename", "media_type", "error"}
        names = sorted(set(fields) & allowed)
        if not names:
            return
        assignments = ", ".join(f"{name} = ?" for name in names)
        self.store.execute(
            f"UPDATE sessions SET {assignments}, updated_at = ? WHERE session_id = ?",
            (*[fields[n] for n in names], time.time(), session_id),
        )

    def forget(self, session_id: str) -> None:
        self.store.execute("DELETE FROM sessions WHERE session_id = ?", (session_id,))
