"""Python through its AST: the HTTP calls of a module (and of its commented-out code), and what they send.

An HTTP call is ``X.put/.post(url, …)``, ``X.request("PUT", url)`` / ``.request(method=…)``,
``requests.Request("PUT", url)``, ``urllib.request.Request(url, …, method="PUT")`` (``POST`` when it
has data), or any call with a ``method=`` keyword. Its URL, headers and body are read as far as the
module shows them (:mod:`compat.staging.scan.python_values`). A file that does not parse is read by
pattern instead.

Batch V1 calls are decided here from the tree. The calls of the other generations (Zoom Media) are
decided by the rules of :mod:`.call_rules`, from signals read in the tree: the patterns of
:data:`~.call_rules.SIGNALS` over the call's URL and the strings it and the names it uses hold, their
keys over the dict keys and keyword names there, and multipart from ``files=`` and the like.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from compat.staging.scan.call_rules import RULES, SIGNALS
from compat.staging.scan.endpoints import PLACEHOLDER, EndpointKind, kinds_in
from compat.staging.scan.languages import PYTHON_FALLBACK
from compat.staging.scan.model import Confidence, Hit, Operation
from compat.staging.scan.patterns import scan_patterns
from compat.staging.scan.python_comments import commented_out_code, parse_python
from compat.staging.scan.python_scopes import Scope, bind_module
from compat.staging.scan.python_values import call_name, text_of

__all__ = ["scan_python"]

_HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
_RELATED_DEPTH = 3
_ALIGN_URL = re.compile(r"/align/?$")
_SIGNAL_PATTERNS = tuple((s.name, re.compile(s.pattern)) for s in SIGNALS if s.pattern)
_SIGNAL_KEYS = tuple((s.name, frozenset(s.keys)) for s in SIGNALS if s.keys)
_OTHER_RULES = tuple(rule for rule in RULES if rule.generation != "batch_v1")
_OTHER_URLS = frozenset(rule.url for rule in _OTHER_RULES)


@dataclass
class _Evidence:
    """What a call (and what the names it uses were assigned) sends."""

    x_filename: bool = False
    multipart: bool = False
    media_file: bool = False
    media_source: list[ast.AST] = field(default_factory=list)


def _argument(args: list[ast.expr], keywords: dict[str, ast.expr], index: int, keyword: str) -> ast.expr | None:
    """Positional argument ``index``, else the ``keyword`` argument."""
    return args[index] if len(args) > index else keywords.get(keyword)


def _request(call: ast.Call, scope: Scope) -> tuple[str, ast.expr | None] | None:
    """(method, URL expression) when ``call`` sends an HTTP request."""
    func = call.func
    name = call_name(func)
    if name is None:
        return None
    args = call.args
    keywords = {k.arg: k.value for k in call.keywords if k.arg}
    if isinstance(func, ast.Attribute) and name.upper() in _HTTP_METHODS and name.islower():
        return name.upper(), _argument(args, keywords, 0, "url")
    if name in ("request", "build_request", "stream"):
        method = text_of(_argument(args, keywords, 0, "method"), scope)
        if method and method.upper() in _HTTP_METHODS:
            return method.upper(), _argument(args, keywords, 1, "url")
        return None
    if name == "Request":
        first = text_of(args[0], scope) if args else None
        if first and first.upper() in _HTTP_METHODS:
            return first.upper(), _argument(args, keywords, 1, "url")
        method = text_of(keywords.get("method"), scope)
        has_data = len(args) > 1 or "data" in keywords
        verb = method.upper() if method else ("POST" if has_data else "GET")
        return verb, _argument(args, keywords, 0, "url")
    if "method" in keywords:
        method = text_of(keywords["method"], scope)
        if method and method.upper() in _HTTP_METHODS:
            return method.upper(), _argument(args, keywords, 0, "url")
    return None


def _is_media_source_node(node: ast.AST) -> bool:
    """A ``{"media_source": …}`` dict or a ``dict(media_source=…)`` call."""
    if isinstance(node, ast.Dict):
        return any(isinstance(k, ast.Constant) and k.value == "media_source" for k in node.keys)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
        return any(k.arg == "media_source" for k in node.keywords)
    return False


def _media_source_value(node: ast.AST) -> ast.expr | None:
    if isinstance(node, ast.Dict):
        for key, value in zip(node.keys, node.values, strict=True):
            if isinstance(key, ast.Constant) and key.value == "media_source":
                return value
    if isinstance(node, ast.Call):
        for keyword in node.keywords:
            if keyword.arg == "media_source":
                return keyword.value
    return None


def _could_be_url(value: ast.expr | None) -> bool:
    """Whether a ``media_source`` value may be a URL (a label, a number or a tuple is not)."""
    if isinstance(value, ast.Constant):
        return isinstance(value.value, str) and "://" in value.value
    return not isinstance(value, (ast.Tuple, ast.List, ast.Dict, ast.Set, ast.Lambda))


class _Analysis:
    """One parsed module (or one commented-out snippet): its calls, and the hits they make."""

    def __init__(
        self,
        tree: ast.Module,
        *,
        outer: Scope | None = None,
        line_offset: int = 0,
        file_signals: frozenset[str] = frozenset(),
    ) -> None:
        self.tree = tree
        self.line_offset = line_offset
        self.file_signals = file_signals
        self.bindings = bind_module(tree, outer)
        self.hits: list[Hit] = []
        self.consumed: set[int] = set()  # ``id`` of the media_source nodes a reported call sends
        self.ms_nodes: list[ast.AST] = []  # every media_source dict in the module

    def run(self, mentions: bool) -> list[Hit]:
        """The hits; ``mentions``: also a ``media_source`` dict that no call found sends (when it may hold a URL)."""
        self._walk(self.tree, self.bindings.module)
        if mentions:
            for node in self.ms_nodes:
                if id(node) not in self.consumed and _could_be_url(_media_source_value(node)):
                    self._hit(node, "media_source", "medium")
        return self.hits

    def _walk(self, node: ast.AST, scope: Scope) -> None:
        for child in ast.iter_child_nodes(node):
            child_scope = self.bindings.scopes.get(id(child), scope)
            if isinstance(child, ast.Call):
                self._visit_call(child, scope)
            if _is_media_source_node(child):
                self.ms_nodes.append(child)
            self._walk(child, child_scope)

    def _hit(self, node: ast.AST, operation: Operation, confidence: Confidence) -> None:
        self.hits.append(Hit(getattr(node, "lineno", 1) + self.line_offset, operation, confidence))

    def _visit_call(self, call: ast.Call, scope: Scope) -> None:
        request = _request(call, scope)
        if request is None:
            func = call.func
            if (
                isinstance(func, ast.Attribute)
                and func.attr == "create_session"
                and any(k.arg == "media_source" for k in call.keywords)
            ):
                self._hit(call, "media_source", "medium")
                self.consumed.add(id(call))
            return
        method, url_node = request
        url = text_of(url_node, scope)
        kinds = kinds_in(url) if url is not None else set()
        decided = self._other_generation(call, scope, method, url, kinds)
        if decided is not None:
            self._hit(call, *decided)
            return
        unknown_url = url is None or not PLACEHOLDER.sub("", url).strip()
        if method == "PUT":
            if "item" in kinds:
                self._hit(call, "upload", "high")
            elif not kinds and unknown_url and self._evidence(call, scope).x_filename:
                self._hit(call, "upload", "medium")
            return
        if method != "POST":
            return
        if "align" in kinds:
            self._hit(call, "align", "high" if self._evidence(call, scope).multipart else "medium")
            return
        if (
            not kinds
            and url is not None
            and _ALIGN_URL.search(url.split("?")[0])
            and self._evidence(call, scope).media_file
        ):
            self._hit(call, "align", "medium")
            return
        if "collection" in kinds or (not kinds and unknown_url):
            evidence = self._evidence(call, scope)
            if evidence.media_source:
                self._hit(call, "media_source", "high" if "collection" in kinds else "medium")
                self.consumed.update(id(n) for n in evidence.media_source)
            elif "collection" in kinds:
                self._hit(call, "create_session", "low")

    def _other_generation(
        self, call: ast.Call, scope: Scope, method: str, url: str | None, kinds: set[EndpointKind]
    ) -> tuple[Operation, Confidence] | None:
        """The call's operation when the first rule it matches is not a Batch V1 one (those are decided above)."""
        if not (kinds & _OTHER_URLS) and not _OTHER_URLS & {"unknown", "any"}:
            return None  # no rule of another generation can match: spare the walk (``x.get(…)`` is everywhere)
        texts: list[str] = [url or ""]
        keys: set[str] = set()
        for node in self._related(call, scope):
            for sub in ast.walk(node):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                    texts.append(sub.value)
                elif isinstance(sub, ast.Dict):
                    keys.update(k.value for k in sub.keys if isinstance(k, ast.Constant) and isinstance(k.value, str))
                elif isinstance(sub, ast.Call):
                    keys.update(k.arg for k in sub.keywords if k.arg)
        text = "\n".join(texts)
        signals = {name for name, pattern in _SIGNAL_PATTERNS if pattern.search(text)}
        signals.update(name for name, names in _SIGNAL_KEYS if names & keys)
        if self._evidence(call, scope).multipart:
            signals.add("multipart")
        named = {method} | signals | self.file_signals
        for rule in RULES:
            if rule.matches(kinds, named, url or ""):
                if rule.generation == "batch_v1" or rule.operation is None:
                    return None
                return rule.operation, rule.confidence
        return None

    def _evidence(self, call: ast.Call, scope: Scope) -> _Evidence:
        evidence = _Evidence()
        if any(k.arg == "files" for k in call.keywords):
            evidence.multipart = True
        for node in self._related(call, scope):
            if id(node) in self.bindings.ms_subscript_ids:
                evidence.media_source.append(node)
                continue
            for sub in ast.walk(node):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                    value = sub.value.lower()
                    evidence.x_filename |= "x-filename" in value
                    evidence.multipart |= "multipart/form-data" in value
                    evidence.media_file |= value in ("media_file", "transcript_file")
                elif isinstance(sub, (ast.Name, ast.Attribute)):
                    ident = sub.id if isinstance(sub, ast.Name) else sub.attr
                    evidence.multipart |= ident in ("MultipartEncoder", "FormData", "MultipartWriter")
                if _is_media_source_node(sub):
                    evidence.media_source.append(sub)
        evidence.multipart |= evidence.media_file
        return evidence

    @staticmethod
    def _related(call: ast.Call, scope: Scope) -> list[ast.AST]:
        """The call, what the names it uses were assigned (three levels deep), and their media_source targets."""
        out: list[ast.AST] = [call]
        seen: set[int] = set()
        todo: list[tuple[ast.AST, Scope, int]] = [(call, scope, 0)]
        while todo:
            node, node_scope, depth = todo.pop()
            for sub in ast.walk(node):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load):
                    for current in node_scope.chain():
                        if sub.id in current.ms_subscripts:
                            for target in current.ms_subscripts[sub.id]:
                                if id(target) not in seen:
                                    seen.add(id(target))
                                    out.append(target)
                            break
                        if sub.id in current.names or sub.id in current.params:
                            break
                if not isinstance(sub, (ast.Name, ast.Attribute)) or depth >= _RELATED_DEPTH:
                    continue
                resolved = node_scope.resolve(sub)
                if resolved is not None and id(resolved[0]) not in seen:
                    seen.add(id(resolved[0]))
                    out.append(resolved[0])
                    todo.append((resolved[0], resolved[1], depth + 1))
        return out


def scan_python(source: str, mentions: bool, file_signals: frozenset[str] = frozenset()) -> list[Hit]:
    """The hits in a Python file: its calls, then its commented-out calls (``low``); by pattern if it does not parse.

    ``file_signals``: the :data:`~.call_rules.FILE_SIGNALS` of the file.
    """
    tree = parse_python(source)
    if tree is None:
        return scan_patterns(source.splitlines(), PYTHON_FALLBACK, mentions, file_signals)
    analysis = _Analysis(tree, file_signals=file_signals)
    hits = analysis.run(mentions)
    for first_line, snippet in commented_out_code(source):
        outer = analysis.bindings.module
        for hit in _Analysis(snippet, outer=outer, line_offset=first_line - 1, file_signals=file_signals).run(mentions):
            hit.confidence = "low"
            hits.append(hit)
    return hits
