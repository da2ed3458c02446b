"""Python scopes: what each name, ``self`` attribute and one-line helper of a module was assigned.

A name assigned more than once in its scope (or by ``for``, ``with``, ``import``, ``+=`` …) is
ambiguous: its value is not known. A parameter hides the names of the enclosing scopes.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypeGuard

__all__ = ["AMBIGUOUS", "Bindings", "ClassInfo", "Scope", "bind_module", "is_docstring", "is_self_attribute"]

AMBIGUOUS = ast.Constant(value=None)
"""The value of a name whose value is not known."""


class ClassInfo:
    """A class body's attributes (and ``self.x = …`` in its methods) and its one-line methods."""

    def __init__(self) -> None:
        self.attrs: dict[str, list[tuple[ast.expr, Scope]]] = {}
        self.returns: dict[str, tuple[ast.expr, Scope]] = {}  # methods that only return an expression


class Scope:
    """A module's or a function's names, parameters, ``x["media_source"] = …`` targets and one-line functions."""

    def __init__(self, parent: Scope | None, cls: ClassInfo | None) -> None:
        self.parent = parent
        self.cls = cls
        self.names: dict[str, list[ast.expr]] = {}
        self.params: set[str] = set()
        self.ms_subscripts: dict[str, list[ast.AST]] = {}
        self.returns: dict[str, tuple[ast.expr, Scope]] = {}  # functions that only return an expression

    def bind(self, name: str, value: ast.expr) -> None:
        """Record that ``name`` is assigned ``value`` here."""
        self.names.setdefault(name, []).append(value)

    def chain(self) -> Iterator[Scope]:
        """This scope, then the enclosing ones out to the module's."""
        current: Scope | None = self
        while current is not None:
            yield current
            current = current.parent

    def enclosing_class(self) -> ClassInfo | None:
        """The class whose method this scope is (or is inside)."""
        return next((scope.cls for scope in self.chain() if scope.cls is not None), None)

    def resolve(self, node: ast.AST) -> tuple[ast.expr, Scope] | None:
        """The one value a name (or ``self.x``) was assigned, and the scope of that assignment."""
        if isinstance(node, ast.Name):
            for scope in self.chain():
                if node.id in scope.names:
                    values = scope.names[node.id]
                    if len(values) == 1 and values[0] is not AMBIGUOUS:
                        return values[0], scope
                    return None
                if node.id in scope.params:
                    return None
            return None
        if is_self_attribute(node):
            owner = self.enclosing_class()
            if owner is not None:
                attrs = owner.attrs.get(node.attr, [])
                if len(attrs) == 1 and attrs[0][0] is not AMBIGUOUS:
                    return attrs[0]
        return None

    def returned(self, func: ast.expr) -> tuple[ast.expr, Scope] | None:
        """What a local one-line helper (``def url(sid): return f"…/{sid}"``, or ``self.url(…)``) returns."""
        if isinstance(func, ast.Name):
            for scope in self.chain():
                if func.id in scope.returns:
                    return scope.returns[func.id]
        elif is_self_attribute(func):
            owner = self.enclosing_class()
            if owner is not None:
                return owner.returns.get(func.attr)
        return None


def is_self_attribute(node: ast.AST) -> TypeGuard[ast.Attribute]:
    """Whether ``node`` is ``self.x`` or ``cls.x``."""
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")


def is_docstring(node: ast.stmt) -> bool:
    """Whether a statement is a bare string (a docstring when it comes first)."""
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


@dataclass
class Bindings:
    """A module's scopes: its own, each function's (by ``id`` of the function node), and its media_source targets."""

    module: Scope
    scopes: dict[int, Scope] = field(default_factory=dict)
    ms_subscript_ids: set[int] = field(default_factory=set)
    """``id`` of each ``x["media_source"]`` assignment target."""


def bind_module(tree: ast.Module, outer: Scope | None = None) -> Bindings:
    """Record every assignment in ``tree``; ``outer`` is the scope around it (for a commented-out snippet)."""
    bindings = Bindings(Scope(outer, None))
    _Binder(bindings).body(tree.body, bindings.module, None)
    return bindings


class _Binder:
    def __init__(self, bindings: Bindings) -> None:
        self.bindings = bindings

    def body(self, body: Sequence[ast.AST], scope: Scope, cls: ClassInfo | None) -> None:
        for node in body:
            self.statement(node, scope, cls)

    def statement(self, node: ast.AST, scope: Scope, cls: ClassInfo | None) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if cls is None:
                scope.bind(node.name, AMBIGUOUS)
            inner = Scope(scope, cls if cls is not None else scope.cls)
            args = node.args
            for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
                if arg is not None:
                    inner.params.add(arg.arg)
            self.bindings.scopes[id(node)] = inner
            self.body(node.body, inner, None)
            body = node.body[1:] if node.body and is_docstring(node.body[0]) else node.body
            if len(body) == 1 and isinstance(body[0], ast.Return) and body[0].value is not None:
                (cls.returns if cls is not None else scope.returns)[node.name] = (body[0].value, inner)
            return
        if isinstance(node, ast.ClassDef):
            if cls is None:
                scope.bind(node.name, AMBIGUOUS)
            self.body(node.body, scope, ClassInfo())
            return
        if isinstance(node, ast.Assign):
            for target in node.targets:
                self.target(target, node.value, scope, cls)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            self.target(node.target, node.value, scope, cls)
        elif isinstance(node, (ast.AugAssign, ast.For, ast.AsyncFor)):
            self.target(node.target, AMBIGUOUS, scope, cls)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if item.optional_vars is not None:
                    self.target(item.optional_vars, AMBIGUOUS, scope, cls)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                scope.bind((alias.asname or alias.name).split(".")[0], AMBIGUOUS)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            scope.bind(node.name, AMBIGUOUS)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.stmt, ast.excepthandler, ast.match_case)):
                self.statement(child, scope, cls)

    def target(self, target: ast.AST, value: ast.expr, scope: Scope, cls: ClassInfo | None) -> None:
        if isinstance(target, ast.Name):
            if cls is not None:
                cls.attrs.setdefault(target.id, []).append((value, scope))
            else:
                scope.bind(target.id, value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self.target(element, AMBIGUOUS, scope, cls)
        elif isinstance(target, ast.Starred):
            self.target(target.value, AMBIGUOUS, scope, cls)
        elif is_self_attribute(target):
            owner = scope.enclosing_class()
            if owner is not None:
                owner.attrs.setdefault(target.attr, []).append((value, scope))
        elif (
            isinstance(target, ast.Subscript)
            and isinstance(target.value, ast.Name)
            and isinstance(target.slice, ast.Constant)
            and target.slice.value == "media_source"
        ):
            scope.ms_subscripts.setdefault(target.value.id, []).append(target)
            self.bindings.ms_subscript_ids.add(id(target))
