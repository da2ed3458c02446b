"""The package a user installs: ``python -m build`` gives a wheel and an sdist that ``twine check`` accepts,
and the wheel, installed in a fresh venv outside the checkout, runs ``scriptix-compat demo``.

This builds and installs for real (about a minute, most of it pip installing the dependencies), so it
runs when ``SCRIPTIX_COMPAT_WHEEL_CHECK=1`` is set: ``.ci/run`` sets it; a plain ``pytest`` skips it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SWITCH = "SCRIPTIX_COMPAT_WHEEL_CHECK"

pytestmark = pytest.mark.skipif(
    os.environ.get(SWITCH) != "1", reason=f"builds and installs the wheel: set {SWITCH}=1 (.ci/run does)"
)

# In the sdist (tests and docs) and never in it (what a checkout accumulates).
SDIST_MUST_HOLD = [
    "pyproject.toml",
    "README.md",
    "CHANGELOG.md",
    "MIGRATION.md",
    "LICENSE",
    "compat/py.typed",
    "compat/cli.py",
    "tests/staging/test_scan.py",
    "tests/golden/v1",
    "tests/tus-server/package-lock.json",
]
NEVER_SHIPPED = ("node_modules", ".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis")


def _run(command: list[str | Path], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run ``command`` with an environment that cannot see the checkout (no ``PYTHONPATH``, no active venv)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    finished = subprocess.run(
        [str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert finished.returncode == 0, f"{command} failed:\n{finished.stdout[-3000:]}\n{finished.stderr[-3000:]}"
    return finished


def _members(sdist: Path) -> list[str]:
    """The sdist's paths without their ``name-version/`` prefix."""
    with tarfile.open(sdist) as archive:
        return [name.split("/", 1)[1] for name in archive.getnames() if "/" in name]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m build`` of the checkout: the sdist, then the wheel built from it."""
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--outdir", out, ROOT], cwd=ROOT, timeout=600)
    return out


def test_build_makes_one_wheel_and_one_sdist_that_twine_accepts(dist: Path) -> None:
    wheels, sdists = list(dist.glob("*.whl")), list(dist.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1
    _run([sys.executable, "-m", "twine", "check", "--strict", *wheels, *sdists], cwd=dist, timeout=120)


def test_the_sdist_holds_the_tests_and_docs_and_nothing_of_a_checkout(dist: Path) -> None:
    (sdist,) = dist.glob("*.tar.gz")
    members = _members(sdist)
    for required in SDIST_MUST_HOLD:
        assert any(m == required or m.startswith(required + "/") for m in members), required
    for member in members:
        parts = member.split("/")
        assert not any(p in NEVER_SHIPPED for p in parts) and not member.endswith(".pyc"), member
    assert not any(m.startswith(("bench/data", ".git/", "dist/", "build/")) for m in members)


def test_the_wheel_holds_the_whole_package_and_only_it(dist: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    expected = {p.relative_to(ROOT).as_posix() for p in (ROOT / "compat").rglob("*.py") if "__pycache__" not in p.parts}
    assert expected <= names
    assert "compat/py.typed" in names
    top_levels = {n.split("/", 1)[0] for n in names}
    assert {t for t in top_levels if not t.endswith(".dist-info")} == {"compat"}
    licenses = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
    assert licenses, "the wheel carries its LICENSE"


def test_the_wheel_installed_in_a_fresh_venv_runs_the_demo_outside_the_checkout(dist: Path, tmp_path: Path) -> None:
    assert not tmp_path.is_relative_to(ROOT), "the venv must be outside the checkout"
    (wheel,) = dist.glob("*.whl")
    venv = tmp_path / "venv"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    _run([sys.executable, "-m", "venv", venv], cwd=elsewhere, timeout=300)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    _run([bindir / "python", "-m", "pip", "install", "--quiet", "--no-compile", wheel], cwd=elsewhere, timeout=900)

    demo = _run([bindir / "scriptix-compat", "demo", "--processing-delay", "0.2"], cwd=elsewhere, timeout=300)
    assert "status 'done'" in demo.stdout and '"status": "done"' in demo.stdout

    probe = (
        "import json, importlib.metadata as m, compat; "
        "print(json.dumps([compat.__file__, compat.__version__, m.version('scriptix-compat')]))"
    )
    where = _run([bindir / "python", "-c", probe], cwd=elsewhere, timeout=120)
    location, version, installed = json.loads(where.stdout)
    assert Path(location).resolve().is_relative_to(venv.resolve())
    assert not Path(location).resolve().is_relative_to(ROOT)
    assert version == installed
    assert (Path(location).parent / "py.typed").is_file()
