"""Public names loaded on first use: the module ``__getattr__`` of a package that keeps imports cheap.

``compat`` (``import compat`` loads no HTTP stack) and ``compat.staging.scan`` (``scriptix-compat
--help`` builds the scan's arguments without the scanner) list each public name with the module
that defines it, and load that module when the name is first asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

__all__ = ["load", "module_attributes"]


def load(namespace: MutableMapping[str, Any], table: Mapping[str, str], package: str, name: str) -> Any:
    """The value of ``name`` from the module ``table`` names for it (``package + "."`` prefixes one
    that starts with ``.``), kept in ``namespace`` so that the next lookup is a plain attribute.

    ``AttributeError`` for a name that is not in ``table``, as for any missing attribute.
    """
    module = table.get(name)
    if module is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(package + module if module.startswith(".") else module), name)
    namespace[name] = value
    return value


def module_attributes(
    namespace: MutableMapping[str, Any], table: Mapping[str, str], package: str
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` (:func:`load`) and ``__dir__`` (loaded names and ``table``'s) of a package."""

    def getattr_(name: str) -> Any:
        return load(namespace, table, package, name)

    def dir_() -> list[str]:
        return sorted({*namespace, *table})

    return getattr_, dir_
