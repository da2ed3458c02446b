"""JSON read as data (Azure Logic App workflows and their ARM templates): the HTTP requests it declares.

A Logic App calls an API from an ``Http`` action (``"inputs": {"method", "uri", "headers", "body"}``) or
an ``HttpWebhook`` action (``"inputs": {"subscribe": {"method", "uri", "body"}}``, the way the Video
Indexer templates created a Zoom Media session with their own callback URL). Wherever they are nested
(scopes, conditions, loops, a template's ``resources``), every JSON object holding a ``method`` string
and a ``uri`` (or ``url``) string is one request. Each is decided by the rules of :mod:`.call_rules`: its
``method``, the session URL of its ``uri`` and the signals its text sends (``json.dumps`` of the object,
read with the row's patterns). A request's line is that of its ``"uri"`` key.

The file is parsed whole (it is at most 2 MiB, like every file the scan reads); a file that is not JSON
gives no hits.
"""

from __future__ import annotations

import json
import re
from typing import Any

from compat.staging.scan.endpoints import kinds_in
from compat.staging.scan.language_rules import LanguageRules
from compat.staging.scan.model import Hit
from compat.staging.scan.patterns import compile_signals, decide

__all__ = ["requests_in", "scan_json"]

_URL_KEYS = ("uri", "url")
_MAX_DEPTH = 200


def _objects_by_key(node: Any, found: dict[str, list[dict[str, Any]]], depth: int = 0) -> None:
    """Every object holding one of :data:`_URL_KEYS`, per key, in the order those keys appear in the text."""
    if depth > _MAX_DEPTH:
        return
    if isinstance(node, dict):
        for key, value in node.items():
            if key in found:
                found[key].append(node)
            _objects_by_key(value, found, depth + 1)
    elif isinstance(node, list):
        for value in node:
            _objects_by_key(value, found, depth + 1)


def _key_lines(source: str, key: str) -> list[int]:
    """The 1-based lines of each ``"key":`` in ``source``, in order (inside a JSON string a quote is ``\\"``,
    so this only finds keys)."""
    starts = [m.start() for m in re.finditer(rf'"{re.escape(key)}"\s*:', source)]
    lines, line, position = [], 1, 0
    for start in starts:
        line += source.count("\n", position, start)
        position = start
        lines.append(line)
    return lines


def requests_in(source: str) -> list[tuple[int, dict[str, Any]]]:
    """The HTTP requests a JSON document declares, as (line of the URL key, the request object), in order."""
    try:
        document = json.loads(source)
    except (ValueError, RecursionError):
        return []
    found: dict[str, list[dict[str, Any]]] = {key: [] for key in _URL_KEYS}
    _objects_by_key(document, found)
    requests: list[tuple[int, dict[str, Any]]] = []
    seen: set[int] = set()
    for key, objects in found.items():
        lines = _key_lines(source, key)
        if len(lines) != len(objects):  # a key written with escapes, or duplicated: no exact lines
            lines = [1] * len(objects)
        for line, obj in zip(lines, objects, strict=True):
            if isinstance(obj.get(key), str) and isinstance(obj.get("method"), str) and id(obj) not in seen:
                seen.add(id(obj))
                requests.append((line, obj))
    requests.sort(key=lambda item: item[0])
    return requests


def scan_json(source: str, lang: LanguageRules, file_signals: frozenset[str] = frozenset()) -> list[Hit]:
    """The hits of the requests a JSON document declares (see the module docstring)."""
    signals_of = compile_signals(lang)
    hits: list[Hit] = []
    for line, request in requests_in(source):
        url = next(request[key] for key in _URL_KEYS if isinstance(request.get(key), str))
        text = json.dumps(request, ensure_ascii=False)
        method = {str(request["method"]).strip().upper()}
        decided = decide(kinds_in(url), method, signals_of.sent(text) | file_signals, text)
        if decided is not None:
            hits.append(Hit(line, *decided))
    return hits
