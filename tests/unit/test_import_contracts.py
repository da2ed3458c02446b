"""Imports go one way down, and nothing imports in a circle (issue 11, item 3; DESIGN.md §4).

``lint-imports`` (import-linter) checks the contracts in ``pyproject.toml`` (``[tool.importlinter]``):

* ``layers`` — a module imports only from the layers below its own, and every module directly
  under ``compat/`` is in a layer (a new one is placed on purpose);
* ``staging-is-an-observer`` — the core never imports ``compat.staging``, directly or not: the
  surfaces report legacy calls through :mod:`compat.hooks`;
* ``emulator-stands-alone`` / ``emulator-is-not-the-shim`` — the V3 sandbox imports nothing of
  the shim but ``compat.safejson``, and only the command line and the staging toolkit import it;
* ``no-circles`` — no two sibling packages or modules import each other, at any depth.

import-linter's acyclic contract compares siblings, so a second check here walks grimp's graph of
every ``compat`` module (the graph import-linter builds) for cycles between modules. Imports under
``if TYPE_CHECKING:`` never run and are left out of both.

The last tests break each rule on purpose in a copy of ``compat/`` and show it is reported.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: import-linter brings tomli
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = ROOT / "pyproject.toml"
CONTRACTS = ("layers", "staging-is-an-observer", "emulator-stands-alone", "emulator-is-not-the-shim", "no-circles")

# Prints, as JSON, every cycle between modules of `compat` (strongly connected parts of grimp's
# graph of runtime imports), leaving out the imports the `no-circles` contract ignores.
CYCLES_PROBE = """
import json, sys
import grimp

ignored = {tuple(part.strip() for part in rule.split("->")) for rule in json.loads(sys.argv[1])}
graph = grimp.build_graph("compat", exclude_type_checking_imports=True)
edges = {
    m: sorted(i for i in graph.find_modules_directly_imported_by(m) if (m, i) not in ignored) for m in graph.modules
}
index, low, stack, on_stack, found = {}, {}, [], set(), []

def visit(start):
    work = [(start, iter(edges[start]))]
    index[start] = low[start] = len(index)
    stack.append(start)
    on_stack.add(start)
    while work:
        node, successors = work[-1]
        for successor in successors:
            if successor not in index:
                index[successor] = low[successor] = len(index)
                stack.append(successor)
                on_stack.add(successor)
                work.append((successor, iter(edges[successor])))
                break
            if successor in on_stack:
                low[node] = min(low[node], index[successor])
        else:
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                part = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    part.append(member)
                    if member == node:
                        break
                if len(part) > 1:
                    found.append(sorted(part))

for module in sorted(edges):
    if module not in index:
        visit(module)
print(json.dumps(sorted(found)))
"""


def _contract(contract_id: str) -> dict[str, object]:
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["importlinter"]
    return next(c for c in config["contracts"] if c["id"] == contract_id)


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` with this project's contracts, on the ``compat`` package found in ``tree``."""
    command = [
        sys.executable,
        "-c",
        "from importlinter.cli import lint_imports_command; lint_imports_command()",
        "--no-cache",
        "--no-logo",
        str(PYPROJECT),
    ]
    environment = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(command, cwd=tree, env=environment, capture_output=True, text=True, timeout=300)


def module_cycles(tree: Path) -> list[list[str]]:
    """Every set of ``compat`` modules (in ``tree``) that import one another in a circle."""
    ignored = json.dumps(_contract("no-circles").get("ignore_imports", []))
    finished = subprocess.run(
        [sys.executable, "-c", CYCLES_PROBE, ignored],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    cycles: list[list[str]] = json.loads(finished.stdout)
    return cycles


def broken(result: subprocess.CompletedProcess[str]) -> set[str]:
    """The ids of the contracts ``lint-imports`` reported broken."""
    names = {str(_contract(c)["name"]): c for c in CONTRACTS}
    text = " ".join(result.stdout.split())
    return {contract for name, contract in names.items() if f"{name} BROKEN" in text}


# The project keeps its rules ---------------------------------------------------------------------


def test_lint_imports_keeps_every_contract() -> None:
    """Also fails when an import ``no-circles`` ignores is gone (import-linter reports it unmatched)."""
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    text = " ".join(result.stdout.split())
    for contract in CONTRACTS:
        assert f"{_contract(contract)['name']} KEPT" in text, contract


def test_no_two_modules_import_each_other_at_any_distance() -> None:
    assert module_cycles(ROOT) == []


def test_no_circle_is_excused() -> None:
    """``no-circles`` ignores no import: the emulator's sessions_api -> v1_api one is gone (its V1
    routes share :mod:`compat.emulator.session_views` instead of importing each other)."""
    assert _contract("no-circles").get("ignore_imports", []) == []


# Each rule can fail ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of ``compat/`` (sources only) that keeps every rule."""
    tree = tmp_path_factory.mktemp("pristine")
    shutil.copytree(ROOT / "compat", tree / "compat", ignore=shutil.ignore_patterns("__pycache__"))
    return tree


@pytest.fixture
def tree(pristine: Path, tmp_path: Path) -> Path:
    shutil.copytree(pristine / "compat", tmp_path / "compat")
    return tmp_path


def _add_line(tree: Path, module: str, line: str) -> None:
    path = tree / Path(*module.split(".")).with_suffix(".py")
    if not path.exists():
        path = tree / Path(*module.split(".")) / "__init__.py"
    path.write_text(path.read_text(encoding="utf-8") + "\n" + line + "\n", encoding="utf-8")


VIOLATIONS = {
    "a lower layer imports a higher one": (
        [("compat.errors", "import compat.shadow  # noqa")],
        {"layers"},
    ),
    "two modules of one layer that must stay independent": (
        [("compat.media", "import compat.v1.validation  # noqa")],
        {"layers"},
    ),
    "the core imports the staging toolkit": (
        # staging sits above the surfaces (verify runs the shim), so this is a circle of packages too
        [("compat.translate", "import compat.staging.usage  # noqa")],
        {"staging-is-an-observer", "layers", "no-circles"},
    ),
    "the core reaches staging through a module in between": (
        # compat.formats is one of the emulator's helpers too: the emulator would reach staging as well,
        # and staging (verify --emulator) -> emulator -> formats -> usage -> staging is a circle
        [("compat.formats", "import compat.usage  # noqa")],
        {"staging-is-an-observer", "layers", "emulator-stands-alone", "no-circles"},
    ),
    "the emulator imports the shim": (
        [("compat.emulator.state", "import compat.errors  # noqa")],
        {"emulator-stands-alone"},
    ),
    "the shim imports the emulator": (
        [("compat.legacy", "import compat.emulator  # noqa")],
        {"emulator-is-not-the-shim"},
    ),
    "two modules of a package import each other": (
        [
            ("compat.v3.models", "import compat.v3.source  # noqa"),
            ("compat.v3.source", "import compat.v3.models  # noqa"),
        ],
        {"no-circles"},
    ),
}


@pytest.mark.parametrize("case", list(VIOLATIONS))
def test_each_contract_fails_when_its_rule_is_broken(tree: Path, case: str) -> None:
    lines, expected = VIOLATIONS[case]
    for module, line in lines:
        _add_line(tree, module, line)
    result = lint_imports(tree)
    assert result.returncode == 1, result.stdout + result.stderr
    assert broken(result) == expected, result.stdout


def test_a_module_in_no_layer_is_reported(tree: Path) -> None:
    (tree / "compat" / "newcomer.py").write_text('"""A module nobody placed in a layer."""\n', encoding="utf-8")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "newcomer" in result.stdout + result.stderr


def test_the_module_cycle_check_finds_a_circle_of_three(tree: Path) -> None:
    # v3.models -> redact -> safejson -> v3.models: three layers apart, no two of them importing each other.
    _add_line(tree, "compat.v3.models", "import compat.redact  # noqa")
    _add_line(tree, "compat.redact", "import compat.safejson  # noqa")
    _add_line(tree, "compat.safejson", "import compat.v3.models  # noqa")
    assert module_cycles(tree) == [["compat.redact", "compat.safejson", "compat.v3.models"]]


def test_an_import_that_only_type_checking_sees_is_no_circle(tree: Path) -> None:
    _add_line(
        tree,
        "compat.redact",
        textwrap.dedent(
            """
            from typing import TYPE_CHECKING
            if TYPE_CHECKING:
                import compat.errors  # noqa
            """
        ),
    )
    assert module_cycles(tree) == []
    assert lint_imports(tree).returncode == 0
