"""V1 answers as real ``requests`` responses, and the ``requests`` exception when no answer came."""

from __future__ import annotations

import io
from http import HTTPStatus

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

from compat.errors import APITimeoutError, ScriptixError
from compat.frontdoor.http import V1Answer

__all__ = ["no_answer", "response_to"]


def response_to(request: requests.PreparedRequest, answer: V1Answer, connection: HTTPAdapter) -> requests.Response:
    """A ``requests.Response`` as ``HTTPAdapter.build_response`` makes one from a server's answer."""
    payload = answer.content()
    headers = {**answer.headers, "Content-Length": str(len(payload))}
    try:
        reason = HTTPStatus(answer.status).phrase
    except ValueError:
        reason = ""
    raw = urllib3.HTTPResponse(
        body=io.BytesIO(payload),
        headers=headers,
        status=answer.status,
        reason=reason,
        preload_content=False,
        decode_content=False,
        request_method=request.method,
        request_url=request.url,
    )
    response = requests.Response()
    response.status_code = answer.status
    response.headers = CaseInsensitiveDict(headers)
    response.encoding = get_encoding_from_headers(response.headers)
    response.raw = raw
    response.reason = reason
    response.url = request.url or ""
    response.request = request
    response.connection = connection
    return response


def no_answer(exc: ScriptixError, request: requests.PreparedRequest) -> requests.RequestException:
    """The exception plain ``requests`` raises when no answer came (the shim's upstream had none)."""
    causes: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in causes:
        causes.append(current)
        current = current.__cause__ or current.__context__
    error_class: type[requests.RequestException] = requests.ConnectionError
    if any(isinstance(c, requests.ConnectTimeout) for c in causes):
        error_class = requests.ConnectTimeout
    elif any(isinstance(c, APITimeoutError | requests.Timeout) for c in causes):
        error_class = requests.ReadTimeout
    return error_class(str(exc), request=request)
