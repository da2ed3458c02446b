"""Every exception the library raises lives in ``compat.errors`` and is a public name (issue 11, item 6).

Every module of ``compat`` is imported, then every :class:`compat.ScriptixError` subclass defined
in one of them is checked: its home is ``compat/errors.py``, ``compat.__all__`` names it, and the
exception tree in ``compat.errors``' docstring shows it. The old homes still import them.
"""

from __future__ import annotations

import importlib
import pkgutil

import compat
import compat.errors
from compat import ScriptixError


def _import_every_module() -> None:
    for module in pkgutil.walk_packages(compat.__path__, "compat."):
        try:
            importlib.import_module(module.name)
        except ModuleNotFoundError as exc:  # an optional extra that is not installed (psycopg, ...)
            if exc.name is None or exc.name.startswith("compat"):
                raise


def _errors_of_compat() -> set[type[BaseException]]:
    _import_every_module()
    found: set[type[BaseException]] = set()
    pending: list[type[BaseException]] = [ScriptixError]
    while pending:
        cls = pending.pop()
        if cls.__module__.split(".")[0] == "compat" and cls not in found:
            found.add(cls)
            pending.extend(cls.__subclasses__())
    return found


def test_every_error_lives_in_compat_errors_and_is_public() -> None:
    misplaced, unexported = [], []
    for cls in _errors_of_compat():
        if cls.__module__ != "compat.errors":
            misplaced.append(f"{cls.__module__}.{cls.__qualname__}")
        if cls.__module__ == "compat.errors" and getattr(compat, cls.__name__, None) is not cls:
            unexported.append(cls.__name__)
        if cls.__name__ not in compat.__all__:
            unexported.append(cls.__name__)
    assert misplaced == [], f"errors defined outside compat/errors.py: {misplaced}"
    assert unexported == [], f"errors missing from compat.__all__: {unexported}"


def test_the_errors_docstring_draws_every_error() -> None:
    tree = compat.errors.__doc__ or ""
    for cls in _errors_of_compat():
        if cls.__module__ == "compat.errors":
            assert f" {cls.__name__}" in tree, f"{cls.__name__} is missing from compat.errors' exception tree"


def test_moved_errors_are_still_importable_from_their_old_modules() -> None:
    from compat.legacy import WaitTimeoutError
    from compat.staging.notice import LegacyCallError

    assert WaitTimeoutError is compat.errors.WaitTimeoutError is compat.WaitTimeoutError
    assert LegacyCallError is compat.errors.LegacyCallError is compat.LegacyCallError
    assert issubclass(WaitTimeoutError, TimeoutError)
