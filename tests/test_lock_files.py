"""requirements/*.txt pin every transitive dependency; they must agree with pyproject.toml's
direct pins (a bump without `make lock` fails here) and with each other."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;]+)", re.M)


def _name(requirement: str) -> str:
    return re.split(r"[\[=<>~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _locked(name: str) -> dict[str, str]:
    text = (ROOT / "requirements" / name).read_text()
    return {n.lower().replace("_", "-"): v for n, v in _PIN.findall(text)}


def test_every_direct_pin_is_locked_at_the_same_version() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    groups = {
        "runtime.txt": project["dependencies"],
        "serve.txt": project["dependencies"] + project["optional-dependencies"]["embedded"],
        "test.txt": project["dependencies"] + project["optional-dependencies"]["test"],
    }
    for lock, requirements in groups.items():
        locked = _locked(lock)
        for requirement in requirements:
            version = requirement.split("==", 1)[1].split(";")[0].strip()
            assert locked.get(_name(requirement)) == version, (lock, requirement)


def test_the_locks_nest_with_the_same_versions() -> None:
    runtime, serve, test = _locked("runtime.txt"), _locked("serve.txt"), _locked("test.txt")
    assert runtime.items() <= serve.items() and serve.items() <= test.items()
    assert len(runtime) > 30  # transitive dependencies, not just the direct ones
