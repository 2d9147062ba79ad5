"""The installed package works outside a checkout: the wheel scripts/wheel-check builds
carries the stress suites, and from it ``python -m atomics --version``, ``info``, ``demo``
and ``stress --list`` run from an empty folder. (scripts/wheel-check itself, ``make
wheel-check``, installs the wheel into a fresh venv per interpreter and runs ``stress
--seconds 1`` too: minutes, so not here.)"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

import atomics

ROOT = Path(__file__).resolve().parents[1]
# pip could not obtain the build backend (no network and no cache): nothing to check here
NO_BACKEND = re.compile(
    r"(No matching distribution found|Could not find a version that satisfies)"
    r".*hatchling|NewConnectionError|Network is unreachable|Temporary failure in name resolution",
    re.DOTALL,
)


def load_script() -> ModuleType:
    path = ROOT / "scripts" / "wheel-check"
    loader = importlib.machinery.SourceFileLoader("wheel_check", str(path))
    spec = importlib.util.spec_from_loader("wheel_check", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of this tree, built as scripts/wheel-check builds it, unpacked (a pure
    wheel installs by unpacking): the folder to put first on sys.path."""
    tmp = tmp_path_factory.mktemp("wheel")
    try:
        wheel = load_script().build_wheel(tmp / "dist", ROOT, sys.executable, clone=False)
    except RuntimeError as error:
        if NO_BACKEND.search(str(error)):
            pytest.skip(f"the build backend (hatchling) cannot be installed here: {error}")
        raise
    names = zipfile.ZipFile(wheel).namelist()
    for module in ("__init__", "conftest", "fixtures", "stress_knowledge_base"):
        assert f"atomics/testing/suites/{module}.py" in names, names
    site = tmp / "site"
    zipfile.ZipFile(wheel).extractall(site)
    return site


def from_wheel(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m atomics ARGS`` with the unpacked wheel first on the path, from ``cwd``."""
    env = {k: v for k, v in os.environ.items() if k not in ("STRESS_SECONDS", "PYTHONPATH")}
    env["PYTHONPATH"] = str(site)
    return subprocess.run(
        [sys.executable, "-m", "atomics", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=cwd,
        env=env,
    )


def test_the_wheel_runs_the_cli_outside_the_checkout(unpacked: Path, tmp_path: Path) -> None:
    where = from_wheel(unpacked, tmp_path, "info")  # (any command imports the package)
    assert where.returncode == 0, where.stderr
    done = subprocess.run(
        [sys.executable, "-c", "import atomics; print(atomics.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(unpacked)},
    )
    assert Path(done.stdout.strip()).is_relative_to(unpacked)  # the wheel's copy, not src/

    version = from_wheel(unpacked, tmp_path, "--version")
    assert (version.returncode, version.stdout) == (0, f"atomics {atomics.__version__}\n")

    demo = from_wheel(
        unpacked, tmp_path, "demo", "--steps", "1", "--agents", "2", "--work", "1000",
        "--threads", "1",
    )  # fmt: skip
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "KnowledgeBase" in demo.stdout

    listed = from_wheel(unpacked, tmp_path, "stress", "--list")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    shipped = sorted(
        name.stem for name in (unpacked / "atomics/testing/suites").glob("stress_*.py")
    )
    assert len(shipped) == 7, shipped
    for module in shipped:
        assert f"{module}.py::test_" in listed.stdout, module
