"""V1 input checks, made before anything goes upstream.

Status codes follow the V1 tables: 400 for an invalid language or invalid data, 401 without a
token, 404 for a session that is unknown or not the caller's, 415 for content that is not
accepted, 422 for a body that is well-formed JSON but not a valid V1 body. Every refusal is a
:class:`compat.ScriptixError` whose ``body`` is ``{"error": "..."}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import ValidationError

from compat import safejson
from compat.errors import APIStatusError, error_for_status
from compat.filenames import is_plain_filename
from compat.urls import is_http_url, webhook_refusal
from compat.v1.models import CreateDocument, CreateSessionRequest
from compat.wire import webhook_names

__all__ = [
    "UnknownFields",
    "check_url",
    "parse_create_body",
    "refuse",
    "require_token",
    "validate_create",
    "validate_session_id",
    "validate_upload",
]

UnknownFields = Literal["forward", "reject"]

KNOWN_FIELDS = frozenset(CreateSessionRequest.model_fields)
_SESSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BOOLEAN_FIELDS = ("keep_source", "punctuation", "multichannel")
MAX_LANGUAGE = 64


def refuse(status: int, message: str) -> APIStatusError:
    """The V1 error for a refused call: ``status`` with ``{"error": message}``."""
    return error_for_status(status, message, body={"error": message})


def require_token(token: str | None) -> str:
    """The caller's token, or 401 as V1 answers without ``x-zoom-s2t-key``."""
    # A token travels in an HTTP header: printable ASCII only (anything else cannot be a Scriptix token).
    if not token or not token.strip() or not token.isascii() or _CONTROL.search(token):
        raise refuse(401, "Unauthorized: the x-zoom-s2t-key header is missing or invalid")
    return token.strip()


def validate_session_id(session_id: Any) -> str:
    """A session id safe to put in a path; anything else is a session that does not exist (404)."""
    if not isinstance(session_id, str) or not _SESSION_ID.fullmatch(session_id):
        raise refuse(404, "The requested session was not found, or did not belong to the supplied token")
    return session_id


def parse_create_body(raw: bytes | str | None, content_type: str | None) -> Any:
    """Decode a create-session request body as V1 did: JSON only and well-formed (415), an object (422).

    Malformed JSON is 415 "Content Invalid", not 422: 422 is for content whose syntax is correct
    (RFC 9110 §15.5.21), as this module's docstring says; the emulator's V1 mode agrees. A body
    nested deeper than :data:`compat.safejson.MAX_DEPTH` levels is refused (422) before it is
    parsed: no V1 body needs more than three, and deeper ones would make the parser recurse.
    """
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise refuse(415, "Content Invalid: the body must be JSON with Content-Type: application/json")
    try:
        return safejson.loads(raw or b"")
    except safejson.JSONDepthError as exc:
        raise refuse(422, f"Body Invalid: the body is {exc}") from None
    except ValueError:  # UnicodeDecodeError included
        raise refuse(415, "Content Invalid: the body is not JSON") from None


def validate_create(
    body: Any, *, unknown_fields: UnknownFields = "forward", allow_insecure_webhooks: bool = False
) -> CreateSessionRequest:
    """Check a V1 create-session body; the typed request, or a V1 4xx naming the field.

    A ``webhook_url`` must be what V1 required of a callback: HTTPS, not ``localhost`` (nor
    ``.localhost``/``.localdomain``), not an IP address. ``allow_insecure_webhooks=True`` lifts
    that rule (for local tests); the URL must still be a well-formed http(s) URL.
    """
    if not isinstance(body, Mapping):
        raise refuse(422, "Body Invalid: the body must be a JSON object")
    try:
        fields = webhook_names(body)
    except ValueError as exc:
        raise refuse(422, str(exc)) from None
    language = fields.get("language")
    if not isinstance(language, str) or not language.strip() or len(language) > MAX_LANGUAGE:
        raise refuse(400, "Invalid language: 'language' must be a non-empty string such as \"en\"")
    if _CONTROL.search(language):
        raise refuse(400, "Invalid language: 'language' contains control characters")
    unknown = sorted(set(fields) - KNOWN_FIELDS)
    if unknown and unknown_fields == "reject":
        raise refuse(422, f"Body Invalid: unknown field {unknown[0]!r}")
    for name in _BOOLEAN_FIELDS:
        if name in fields and not isinstance(fields[name], bool):
            raise refuse(422, f"Body Invalid: {name!r} must be true or false")
    _check_webhook(fields, prefix="", insecure_ok=allow_insecure_webhooks)
    media_source = fields.get("media_source")
    if media_source is not None:
        check_url(media_source, "media_source")
    meta_data = fields.get("meta_data")
    if meta_data is not None and (
        not isinstance(meta_data, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in meta_data.items())
    ):
        raise refuse(422, "Body Invalid: 'meta_data' must be an object of string values")
    document = fields.get("document")
    if document is not None:
        if not isinstance(document, dict):
            raise refuse(422, "Body Invalid: 'document' must be an object")
        _check_webhook(document, prefix="document.", insecure_ok=allow_insecure_webhooks)
        try:
            CreateDocument.model_validate(document, strict=True)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise refuse(422, f"Body Invalid: document.{where}: {first['msg']}") from None
    try:
        return CreateSessionRequest.model_validate(fields, strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise refuse(422, f"Body Invalid: {where}: {first['msg']}") from None


def _check_webhook(fields: dict[str, Any], *, prefix: str, insecure_ok: bool) -> None:
    url = fields.get("webhook_url")
    if url is not None:
        check_url(url, prefix + "webhook_url")
        if not insecure_ok:
            _check_webhook_host(url, prefix + "webhook_url")
    method = fields.get("webhook_method")
    if method is not None:
        if not isinstance(method, str) or method.upper() not in ("POST", "PUT"):
            raise refuse(422, f"Body Invalid: '{prefix}webhook_method' must be POST or PUT")
        fields["webhook_method"] = method.upper()
    headers = fields.get("webhook_headers")
    if headers is not None:
        if not isinstance(headers, list):
            raise refuse(422, f"Body Invalid: '{prefix}webhook_headers' must be a list of \"Name: value\" strings")
        for header in headers:
            _check_header_line(header, prefix + "webhook_headers")
    if (method is not None or headers is not None) and url is None:
        raise refuse(422, f"Body Invalid: '{prefix}webhook_method' and '{prefix}webhook_headers' require webhook_url")


def _check_webhook_host(url: str, where: str) -> None:
    """V1's rule for callback URLs (:func:`compat.urls.webhook_refusal`): a 422 naming ``where``."""
    refusal = webhook_refusal(url, where)
    if refusal is not None:
        raise refuse(422, f"Body Invalid: {refusal}")


def _check_header_line(header: Any, where: str) -> None:
    if not isinstance(header, str) or _CONTROL.search(header.replace("\t", " ")):
        raise refuse(422, f"Body Invalid: '{where}' entries must be single-line strings")
    name, sep, value = header.partition(":")
    if not sep or not _HEADER_NAME.fullmatch(name.strip()) or name != name.strip() or not value.strip():
        raise refuse(422, f"Body Invalid: '{where}' entries must look like \"Name: value\"")


def check_url(value: Any, where: str) -> None:
    """Refuse (422, naming ``where``) anything but a well-formed http(s) URL with a host.

    The form is :func:`compat.urls.is_http_url`'s, the one check of a URL's form: ``media_source``,
    every redirect target of its download and ``webhook_url`` all go through it (a bad port or an
    unclosed ``[`` is a 422, never a ``ValueError``).
    """
    if not is_http_url(value):
        raise refuse(422, f"Body Invalid: '{where}' must be an http(s) URL")


def validate_upload(
    *,
    content_type: str | None,
    filename: str | None,
    content_length: int | None,
    any_type: bool = False,
) -> tuple[str, str]:
    """Check a V1 PUT upload's headers; ``(media type, filename)`` or a V1 4xx.

    The filename comes from ``x-filename``; without one the shim names the file ``upload``.
    ``any_type``: a type other than ``audio/*``/``video/*`` is ``application/octet-stream``, not a 415.
    """
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    major, _, minor = media_type.partition("/")
    if major not in ("audio", "video") or not minor or not _HEADER_NAME.fullmatch(minor):
        if not any_type:
            raise refuse(415, "Content Invalid: Content-Type must be audio/* or video/*")
        media_type = "application/octet-stream"
    if content_length is not None and content_length <= 0:
        raise refuse(400, "Invalid data: the upload body is empty")
    name = "upload" if filename is None else filename
    if not is_plain_filename(name):
        raise refuse(400, "Invalid data: x-filename must be a plain file name (no paths or control characters)")
    return media_type, name
