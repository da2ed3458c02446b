"""The string a Python expression evaluates to, as far as the source shows it (``{}`` for the unknown parts).

Literals, f-strings, ``+``, ``%``, ``.format()``, ``"/".join([...])``, ``urljoin``/``os.path.join``,
``str()``/``quote()``, ``os.getenv(name, default)``/``.get(key, default)``, names assigned once and
local one-line helpers.
"""

from __future__ import annotations

import ast
import re

from compat.staging.scan.python_scopes import Scope

__all__ = ["call_name", "text_of"]

_FORMAT_FIELD = re.compile(r"\{([^{}]*)\}")
_PERCENT_FIELD = re.compile(r"%%|%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[sdrifx]")
_MAX_DEPTH = 12


def call_name(func: ast.expr) -> str | None:
    """The name a call is made by: ``f`` for ``f(…)`` and for ``x.f(…)``; ``None`` for anything else."""
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None


def text_of(node: ast.AST | None, scope: Scope, depth: int = 0) -> str | None:
    """The string ``node`` evaluates to, with ``{}`` for the parts that are not known; ``None`` if nothing is."""
    if node is None or depth > _MAX_DEPTH:
        return None
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.JoinedStr):
        parts: list[str] = []
        for value in node.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                parts.append(value.value)
            elif isinstance(value, ast.FormattedValue):
                parts.append(text_of(value.value, scope, depth + 1) or "{}")
        return "".join(parts)
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Add):
            return _joined("", [node.left, node.right], scope, depth, strip=False)
        if isinstance(node.op, ast.Mod):
            template = text_of(node.left, scope, depth + 1)
            if template is None:
                return None
            values = node.right.elts if isinstance(node.right, ast.Tuple) else [node.right]
            texts = iter([text_of(v, scope, depth + 1) or "{}" for v in values])
            return _PERCENT_FIELD.sub(lambda m: "%" if m.group() == "%%" else next(texts, "{}"), template)
        return None
    if isinstance(node, ast.Call):
        return _call_text(node, scope, depth)
    if isinstance(node, ast.IfExp):
        return text_of(node.body, scope, depth + 1) or text_of(node.orelse, scope, depth + 1)
    resolved = scope.resolve(node)
    if resolved is not None:
        return text_of(resolved[0], resolved[1], depth + 1)
    return None


def _joined(separator: str, nodes: list[ast.expr], scope: Scope, depth: int, *, strip: bool) -> str | None:
    """The texts of ``nodes`` joined (``{}`` for an unknown one; ``strip``: without their ``/`` at either end)."""
    parts = [text_of(n, scope, depth + 1) for n in nodes]
    if all(p is None for p in parts):
        return None
    texts = [p or "{}" for p in parts]
    return separator.join(t.strip("/") for t in texts) if strip else separator.join(texts)


def _call_text(node: ast.Call, scope: Scope, depth: int) -> str | None:
    func = node.func
    name = call_name(func)
    args = node.args
    if isinstance(func, ast.Attribute) and name == "format":
        return _format_text(node, func, scope, depth)
    if isinstance(func, ast.Attribute) and name in ("strip", "rstrip", "lstrip", "lower"):
        return text_of(func.value, scope, depth + 1)
    if (
        isinstance(func, ast.Attribute)
        and name == "join"
        and isinstance(func.value, ast.Constant)
        and isinstance(func.value.value, str)
        and args
        and isinstance(args[0], (ast.List, ast.Tuple))
    ):
        return _joined(func.value.value, args[0].elts, scope, depth, strip=False)
    if name in ("urljoin", "join") and len(args) >= 2:
        return _joined("/", args, scope, depth, strip=True)
    returned = scope.returned(func)
    if returned is not None:
        return text_of(returned[0], returned[1], depth + 1)
    if name in ("str", "quote") and args:
        return text_of(args[0], scope, depth + 1)
    if name in ("getenv", "get") and len(args) >= 2:
        return text_of(args[1], scope, depth + 1)
    return None


def _format_text(node: ast.Call, func: ast.Attribute, scope: Scope, depth: int) -> str | None:
    """``template.format(…)``: each field replaced by the text of its argument."""
    template = text_of(func.value, scope, depth + 1)
    if template is None:
        return None
    positional = [text_of(a, scope, depth + 1) or "{}" for a in node.args]
    named = {k.arg: text_of(k.value, scope, depth + 1) or "{}" for k in node.keywords if k.arg}
    counter = iter(range(len(positional)))

    def field(match: re.Match[str]) -> str:
        key = match.group(1).split(".")[0].split("[")[0].split("!")[0].split(":")[0]
        if key == "":
            index = next(counter, -1)
            return positional[index] if 0 <= index < len(positional) else "{}"
        if key.isdigit():
            return positional[int(key)] if int(key) < len(positional) else "{}"
        return named.get(key, "{}")

    return _FORMAT_FIELD.sub(field, template)
