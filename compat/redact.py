"""Keeping secrets out of logs, errors and disk.

Tokens are registered with :func:`register_secret` by whoever holds them; :func:`redact` removes
every registered secret from a text, and :class:`RedactingFilter` does the same to log records of
the ``compat`` loggers. On disk a token is only ever a keyed hash (:func:`token_digest`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import threading
import weakref
from collections import OrderedDict
from typing import Any

__all__ = ["RedactingFilter", "redact", "redact_url_password", "register_secret", "token_digest"]

REDACTED = "<redacted>"

_lock = threading.Lock()
# Recently used secrets, oldest first. Bounded: a gateway serving many callers must not grow
# without limit; a token is registered again on every request that uses it.
MAX_SECRETS = 4096
_secrets: OrderedDict[str, None] = OrderedDict()


def register_secret(secret: str | None) -> None:
    """Remember ``secret`` so that :func:`redact` removes it from any text."""
    if secret and len(secret) >= 4:
        with _lock:
            _secrets[secret] = None
            _secrets.move_to_end(secret)
            while len(_secrets) > MAX_SECRETS:
                _secrets.popitem(last=False)


def redact(value: Any) -> Any:
    """Return ``value`` with every registered secret replaced, recursing into dicts and lists."""
    if isinstance(value, str):
        with _lock:
            secrets = sorted(_secrets, key=len, reverse=True)
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {redact(k): redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, tuple):
        return tuple(redact(v) for v in value)
    return value


_URL_PASSWORD = re.compile(r"(://[^/@:]*):[^/@]*@")
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&#]*", re.IGNORECASE)


def redact_url_password(text: str) -> str:
    """``text`` with the password of a URL in it (``scheme://user:PASSWORD@host``, or a
    ``password=`` query parameter) replaced; the user, host and database stay readable."""
    return _QUERY_PASSWORD.sub(r"\1" + REDACTED, _URL_PASSWORD.sub(r"\1:" + REDACTED + "@", text))


def token_digest(token: str | None, key: bytes) -> str:
    """A keyed hash of ``token`` (HMAC-SHA256, hex): safe to store, useless to replay."""
    return hmac.new(key, (token or "").encode("utf-8"), hashlib.sha256).hexdigest()


class RedactingFilter(logging.Filter):
    """A logging filter that removes registered secrets from the message and its arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _redact_any(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_any(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _redact_any(v) for k, v in record.args.items()}
        return True


def _redact_any(value: Any) -> Any:
    """``value`` redacted; an object whose text shows a secret is replaced by its redacted text."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {_redact_any(k): _redact_any(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact_any(v) for v in value)
    if isinstance(value, int | float | bool) or value is None:
        return value
    text = str(value)
    cleaned = redact(text)
    return cleaned if cleaned != text else value


_installed: weakref.WeakSet[logging.Logger] = weakref.WeakSet()


def install_log_filter(logger: logging.Logger) -> None:
    """Attach one :class:`RedactingFilter` to ``logger`` (idempotent)."""
    if logger not in _installed:
        logger.addFilter(RedactingFilter())
        _installed.add(logger)


class QueryRedactingFilter(logging.Filter):
    """Removes query strings from a record's text: a caller may put a token there (``?api_key=…``).

    For loggers that print request lines the shim does not write itself (``urllib3.connectionpool``
    in the gateway, which proxies callers' requests as they are).
    """

    _QUERY = re.compile(r"\?[^\s\"']*")

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        cleaned = self._QUERY.sub("?" + REDACTED, message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
