"""compat/ uses its dependencies through their public API only (issue 11, items 2 and 8).

A static check of every ``compat/**/*.py``: no private attribute (``obj._x``) is read or written on
an object of tuspy (``tusclient``), requests, urllib3, psycopg (and its pool), the gateway's server
(hypercorn and its h11), or waitress (the gateway's server before it); tuspy is imported only for the
two public interfaces the pins in ``pyproject.toml`` name, and nothing subclasses its client
classes; and ``import compat`` loads neither aiohttp nor asyncio.

"An object of a dependency" is found per module, reasonably rather than soundly: a name imported
from the dependency, anything assigned from an expression rooted at one (``s = requests.Session()``,
``self.server = waitress.create_server(...)``, ``for c in server.active_channels.values()``),
``with ... as`` targets, and parameters annotated with one of its types. In a class that derives
from a dependency class, ``self._x`` counts when ``_x`` is that class's own (in its MRO's source).
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import compat

COMPAT = Path(compat.__file__).resolve().parent
DEPENDENCIES = ("tusclient", "waitress", "requests", "urllib3", "psycopg", "psycopg_pool", "hypercorn", "h11")

# Named in issue 11, item 2: tuspy's privates the old TusRequest/Uploader subclasses used ...
TUSPY_PRIVATE_NAMES = ("_request_headers", "_content_length", "_url")
# ... and waitress internals the gateway's shutdown glue reads.
WAITRESS_INTERNAL_NAMES = ("_map", "task_dispatcher", "total_outbufs_len")
# The only parts of tuspy compat relies on (see the comment on the pin in pyproject.toml).
TUSPY_PUBLIC_INTERFACES = {
    "tusclient.storage.interface": {"Storage"},
    "tusclient.fingerprint.interface": {"Fingerprint"},
}


# The checker ------------------------------------------------------------------------------


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _top(module: str | None) -> str:
    return (module or "").split(".")[0]


def _dotted(node: ast.expr) -> str | None:
    """``a.b.c`` for a chain of names and attributes, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


@dataclass
class Module:
    """One source file: what its names refer to, and the checks' findings."""

    path: Path
    tree: ast.Module
    imported: dict[str, str] = field(default_factory=dict)  # local name -> "pkg.module.Name"
    objects: dict[str, str] = field(default_factory=dict)  # dotted local name -> dependency package

    @classmethod
    def parse(cls, path: Path, source: str | None = None) -> Module:
        text = path.read_text(encoding="utf-8") if source is None else source
        module = cls(path, ast.parse(text, filename=str(path)))
        module._bind_imports()
        module._bind_objects()
        return module

    @property
    def label(self) -> str:
        return str(self.path.relative_to(COMPAT.parent)) if self.path.is_absolute() else str(self.path)

    def _bind_imports(self) -> None:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] in DEPENDENCIES:
                        local = alias.asname or alias.name.split(".")[0]
                        self.imported[local] = alias.name if alias.asname else local
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and _top(node.module) in DEPENDENCIES:
                for alias in node.names:
                    self.imported[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        for local, target in self.imported.items():
            self.objects[local] = target.split(".")[0]

    def origin(self, node: ast.expr) -> str | None:
        """The dependency an expression's value comes from, if it visibly comes from one."""
        while True:
            dotted = _dotted(node)
            if dotted is not None:
                parts = dotted.split(".")
                for end in range(len(parts), 0, -1):
                    found = self.objects.get(".".join(parts[:end]))
                    if found:
                        return found
                return None
            if isinstance(node, ast.Call):
                found = self.origin(node.func)
                if found is None and node.args:  # list(x.values()), sorted(x), iter(x), ...
                    found = self.origin(node.args[0])
                return found
            if isinstance(node, ast.Attribute | ast.Subscript | ast.Starred | ast.Await):
                node = node.value
                continue
            return None

    def _annotation_origin(self, annotation: ast.expr | None) -> str | None:
        if annotation is None:
            return None
        for node in ast.walk(annotation):
            if isinstance(node, ast.Name | ast.Attribute):
                found = self.origin(node)
                if found:
                    return found
        return None

    def _bind_objects(self) -> None:
        changed = True
        while changed:
            changed = False
            for target, value in self._bindings():
                key = _dotted(target)
                found = self.origin(value) if isinstance(value, ast.expr) else self._annotation_origin(value.annotation)
                if key and found and key not in self.objects:
                    self.objects[key] = found
                    changed = True

    def _bindings(self) -> Iterator[tuple[ast.expr, ast.expr | ast.arg]]:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    yield target, node.value
            elif isinstance(node, ast.AnnAssign | ast.AugAssign) and node.value is not None:
                yield node.target, node.value
            elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
                yield node.target, node.iter
            elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                yield node.optional_vars, node.context_expr
            elif isinstance(node, ast.NamedExpr):
                yield node.target, node.value
            elif isinstance(node, ast.arguments):
                for arg in [*node.posonlyargs, *node.args, *node.kwonlyargs]:
                    yield ast.Name(arg.arg), arg

    def private_uses(self, dependency: str) -> list[str]:
        """``obj._x`` where ``obj`` is an object of ``dependency``."""
        found = []
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Attribute) and _is_private(node.attr) and self.origin(node.value) == dependency:
                found.append(f"{self.label}:{node.lineno}: {ast.unparse(node)}")
        return found

    def inherited_private_uses(self, dependency: str) -> list[str]:
        """``self._x`` in a subclass of a ``dependency`` class, where ``_x`` belongs to that class."""
        found = []
        for cls in (n for n in ast.walk(self.tree) if isinstance(n, ast.ClassDef)):
            bases = [self.resolve(base) for base in cls.bases if self.origin(base) == dependency]
            own = _private_names_of([b for b in bases if inspect.isclass(b)], dependency)
            for node in ast.walk(cls):
                if (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "self"
                    and node.attr in own
                ):
                    found.append(f"{self.label}:{node.lineno}: {cls.name} uses {dependency}'s self.{node.attr}")
        return found

    def resolve(self, node: ast.expr) -> object:
        """The object an imported dotted name refers to (imports the dependency)."""
        dotted = _dotted(node)
        if dotted is None:
            return None
        head, *rest = dotted.split(".")
        path = self.imported.get(head)
        if path is None:
            return None
        parts = [*path.split("."), *rest]
        for split in range(len(parts), 0, -1):
            try:
                value: object = importlib.import_module(".".join(parts[:split]))
            except ImportError:
                continue
            for name in parts[split:]:
                value = getattr(value, name)
            return value
        return None

    def attribute_names(self) -> Iterator[tuple[int, str, str]]:
        """(line, attribute, source) of every ``x.attr`` and every ``getattr(x, "attr")``-style use."""
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Attribute):
                yield node.lineno, node.attr, ast.unparse(node)
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("getattr", "setattr", "hasattr", "delattr")
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and isinstance(node.args[1].value, str)
            ):
                yield node.lineno, node.args[1].value, ast.unparse(node)


def _private_names_of(classes: list[type], dependency: str) -> set[str]:
    names: set[str] = set()
    for base in classes:
        for klass in base.__mro__:
            if not klass.__module__.startswith(dependency):
                continue
            names.update(name for name in vars(klass) if _is_private(name))
            try:
                source = inspect.getsource(klass)
            except (OSError, TypeError):
                continue
            for node in ast.walk(ast.parse(textwrap.dedent(source))):
                if (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "self"
                    and _is_private(node.attr)
                ):
                    names.add(node.attr)
    return names


@functools.cache
def compat_modules() -> tuple[Module, ...]:
    return tuple(Module.parse(path) for path in sorted(COMPAT.rglob("*.py")))


# The rules --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dependency",
    DEPENDENCIES,
)
def test_no_private_attribute_of_a_dependency_object_is_used(dependency: str) -> None:
    found = [line for module in compat_modules() for line in module.private_uses(dependency)]
    assert found == [], f"private attributes of {dependency} objects used:\n" + "\n".join(found)


@pytest.mark.parametrize("dependency", DEPENDENCIES)
def test_subclasses_of_dependency_classes_touch_none_of_their_private_attributes(dependency: str) -> None:
    found = [line for module in compat_modules() for line in module.inherited_private_uses(dependency)]
    assert found == [], "\n".join(found)


def test_the_tuspy_private_attributes_named_in_issue_11_appear_nowhere() -> None:
    found = [
        f"{module.label}:{line}: {text}"
        for module in compat_modules()
        for line, name, text in module.attribute_names()
        if name in TUSPY_PRIVATE_NAMES
    ]
    assert found == [], "\n".join(found)


def test_the_waitress_internals_named_in_issue_11_appear_nowhere() -> None:
    found = [
        f"{module.label}:{line}: {text}"
        for module in compat_modules()
        for line, name, text in module.attribute_names()
        if name in WAITRESS_INTERNAL_NAMES or text == "channel.requests"
    ]
    assert found == [], "\n".join(found)


def test_tuspy_is_imported_only_for_its_public_storage_and_fingerprint_interfaces() -> None:
    found = []
    for module in compat_modules():
        for local, path in module.imported.items():
            if not path.startswith("tusclient"):
                continue
            where, _, name = path.rpartition(".")
            if name not in TUSPY_PUBLIC_INTERFACES.get(where, set()):
                found.append(f"{module.label}: {local} = {path}")
    assert found == [], "tuspy used beyond the interfaces its pin names:\n" + "\n".join(found)


def test_no_class_subclasses_tuspys_client_uploader_or_request() -> None:
    from tusclient.client import TusClient
    from tusclient.request import BaseTusRequest
    from tusclient.uploader.baseuploader import BaseUploader

    found = []
    for module in compat_modules():
        for cls in (n for n in ast.walk(module.tree) if isinstance(n, ast.ClassDef)):
            for base in cls.bases:
                resolved = module.resolve(base)
                if inspect.isclass(resolved) and issubclass(resolved, TusClient | BaseTusRequest | BaseUploader):
                    found.append(f"{module.label}:{cls.lineno}: {cls.name}({ast.unparse(base)})")
    assert found == [], "\n".join(found)


@pytest.mark.parametrize("unwanted", ["aiohttp", "asyncio"])
def test_import_compat_loads_no_async_stack(unwanted: str) -> None:
    # Every public name, loaded: `import compat` alone loads them on first use (tests/unit/test_startup.py).
    probe = f"import sys, compat; [getattr(compat, n) for n in compat.__all__]; print({unwanted!r} in sys.modules)"
    finished = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=COMPAT.parent, check=True
    )
    assert finished.stdout.strip() == "False", f"import compat loaded {unwanted}"


# The checker finds what it should (so the rules above can fail) ---------------------------

BAD = """
import requests
from requests.adapters import HTTPAdapter
from tusclient.client import TusClient
from tusclient.request import TusRequest
import waitress
from hypercorn.config import Config
from hypercorn.asyncio import serve

class Patch(TusRequest):
    def perform(self):
        return self._request_headers, self._content_length

class Endpoint(TusClient):
    pass

class Adapter(HTTPAdapter):
    def send(self, request, **kwargs):
        return self._pool_maxsize

def fetch(response: requests.Response | None, url):
    session = requests.Session()
    session._private = 1
    with requests.get(url, stream=True) as answer:
        answer.raw._fp_bytes_read
    return response._content

class Runner:
    def __init__(self):
        self.server = waitress.create_server(None)

    def run(self):
        server = self.server
        for channel in list(server.active_channels.values()):
            channel._flush_some()
        return self.server._map, server.task_dispatcher, channel.requests

async def serve_gateway(app, fd):
    config = Config()
    config.bind = [f"fd://{fd}"]
    config._log = None
    await serve(app, config)._coro
"""


def test_the_checker_finds_each_kind_of_violation() -> None:
    module = Module.parse(Path("bad.py"), BAD)
    assert sorted(line.split(": ", 1)[1] for line in module.private_uses("requests")) == [
        "answer.raw._fp_bytes_read",
        "response._content",
        "session._private",
    ]
    assert sorted(line.split(": ", 1)[1] for line in module.private_uses("waitress")) == [
        "channel._flush_some",
        "self.server._map",
    ]
    assert sorted(line.split(": ", 1)[1] for line in module.inherited_private_uses("tusclient")) == [
        "Patch uses tusclient's self._content_length",
        "Patch uses tusclient's self._request_headers",
    ]
    assert [line.split(": ", 1)[1] for line in module.inherited_private_uses("requests")] == [
        "Adapter uses requests's self._pool_maxsize"
    ]
    assert sorted(line.split(": ", 1)[1] for line in module.private_uses("hypercorn")) == [
        "config._log",
        "serve(app, config)._coro",
    ]
    names = {name for _, name, _ in module.attribute_names()}
    assert {"_request_headers", "_content_length", "_map", "task_dispatcher"} <= names
    assert {"tusclient.client.TusClient", "tusclient.request.TusRequest"} <= set(module.imported.values())
