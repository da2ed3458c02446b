"""The README's "Code layout" is the package's tree, and every module says its job (issue 11).

The section holds one fenced block: ``compat/`` and, indented two spaces per level, one line per
package (``name/``) or module (``name.py``) with what it does. Every package and module under
``compat/`` must be listed, nothing listed may be missing from the tree, and every module (a
package's ``__init__.py`` included) must have a docstring.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "compat"


def layout_block(readme: str) -> list[str]:
    """The lines of the first fenced block in the README's "## Code layout" section."""
    section = readme.split("\n## Code layout\n", 1)[1].split("\n## ", 1)[0]
    found = re.search(r"^```[^\n]*\n(.*?)^```", section, re.DOTALL | re.MULTILINE)
    assert found, "the Code layout section has no fenced block"
    return found.group(1).splitlines()


def listed_entries(lines: list[str]) -> dict[str, str]:
    """``{path: description}`` for each entry (``compat/staging/``, ``compat/cli.py``)."""
    entries: dict[str, str] = {}
    parents: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        assert indent % 2 == 0, f"line {number}: indent by two spaces per level: {line!r}"
        depth = indent // 2
        assert depth <= len(parents), f"line {number}: indented deeper than its package: {line!r}"
        name, _, description = line.strip().partition(" ")
        assert name.endswith(("/", ".py")), f"line {number}: not a package/ or a module.py: {line!r}"
        del parents[depth:]
        path = "".join(parents) + name
        assert path not in entries, f"line {number}: {path} is listed twice"
        entries[path] = description.strip()
        if name.endswith("/"):
            parents.append(name)
    return entries


def tree_entries(package: Path) -> set[str]:
    """Each package (``compat/v3/``) and module (``compat/v3/client.py``) of ``package``, as listed."""
    found: set[str] = set()
    for path in package.rglob("*.py"):
        if "__pycache__" in path.parts:
            continue
        relative = path.relative_to(package.parent).as_posix()
        found.add(relative[: -len("__init__.py")] if path.name == "__init__.py" else relative)
    return found


def test_the_layout_section_lists_exactly_the_packages_and_modules_of_compat() -> None:
    entries = listed_entries(layout_block((ROOT / "README.md").read_text(encoding="utf-8")))
    actual = tree_entries(PACKAGE)
    assert sorted(actual - set(entries)) == [], "in compat/ but not in the README's Code layout"
    assert sorted(set(entries) - actual) == [], "in the README's Code layout but not in compat/"
    assert [path for path, description in entries.items() if not description] == [], "listed without a job"


@pytest.mark.parametrize(
    "path", sorted(p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)
)
def test_every_module_has_a_docstring(path: str) -> None:
    docstring = ast.get_docstring(ast.parse((ROOT / path).read_text(encoding="utf-8")))
    assert docstring and docstring.strip(), f"{path} has no module docstring saying what it is for"


# The checks can fail ---------------------------------------------------------------------------


def test_a_missing_a_stale_and_a_misplaced_entry_are_each_found(tmp_path: Path) -> None:
    package = tmp_path / "compat"
    (package / "v3").mkdir(parents=True)
    for name in ("__init__.py", "cli.py", "v3/__init__.py", "v3/client.py", "v3/models.py"):
        (package / name).write_text('"""x."""\n')
    block = [
        "compat/        the public names",
        "  cli.py       the command line",
        "  gone.py      a module that was removed",
        "  v3/          V3",
        "    client.py  V3Client",
        "  models.py    listed one level too high",
    ]
    entries = listed_entries(block)
    actual = tree_entries(package)
    assert actual - set(entries) == {"compat/v3/models.py"}
    assert set(entries) - actual == {"compat/gone.py", "compat/models.py"}


def test_a_line_that_is_no_entry_is_refused() -> None:
    with pytest.raises(AssertionError, match="indent by two spaces"):
        listed_entries(["compat/  root", "   cli.py  three spaces"])
    with pytest.raises(AssertionError, match=r"not a package/ or a module\.py"):
        listed_entries(["compat/  root", "  cli  no suffix"])
    with pytest.raises(AssertionError, match="listed twice"):
        listed_entries(["compat/  root", "  cli.py  one", "  cli.py  two"])
