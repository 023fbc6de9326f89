"""`billing` arguments: every wrong value is a usage error (one line, exit 2) before anything
is started or touched; `--version` answers without a database."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from bench.processes import BILLING


def billing(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BILLING), *args], env={**os.environ, **(env or {})}, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_version() -> None:
    from importlib.metadata import version

    result = billing("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"billing {version('billing-functions')}"


BAD_ARGUMENTS = [
    (["renew", "--batch-size", "0"], "argument --batch-size: must be at least 1, got 0"),
    (["renew", "--batch-size", "-1"], "argument --batch-size: must be at least 1, got -1"),
    (["renew", "--batch-size", "many"], "argument --batch-size: expected a whole number"),
    (["renew", "--at", "yesterday"], "argument --at: 'yesterday' is not an RFC 3339 timestamp"),
    (["serve", "--port", "0"], "argument --port: expected a port number from 1 to 65535, got 0"),
    (["serve", "--port", "65536"], "argument --port: expected a port number from 1 to 65535, got 65536"),
    (["serve", "--port", "http"], "argument --port: expected a port number from 1 to 65535, got 'http'"),
    (["serve", "--host", ""], "argument --host: must not be empty"),
    (["tenant", "create", "  "], "argument name: must not be empty"),
    (["key", "list", "--tenant", "acme"], "argument --tenant: expected an id like ten_"),
    (["key", "revoke", "--tenant", "ten_01abc", "my key"], "argument key_id: expected an id like key_"),
    (["key", "create", "--tenant", "ten_01abc", "--name", "ci", "--expires-at", "soon"], "--expires-at:"),
    (
        ["key", "create", "--tenant", "ten_01abc", "--name", "ci", "--scope", "admin"],
        "argument --scope: invalid choice",
    ),
    (["manifests", "--out", ""], "argument --out: must not be empty"),
]


@pytest.mark.parametrize(
    "args, message", BAD_ARGUMENTS, ids=lambda value: " ".join(value) if isinstance(value, list) else None
)
def test_a_bad_argument_is_one_line_and_exit_2_before_anything_starts(
    tmp_path: Path, args: list[str], message: str
) -> None:
    data = tmp_path / "data"
    env = {"BILLING_DATA_DIR": str(data), "DATABASE_URL": "", "PORT": "", "HOST": ""}
    result = billing(*args, env=env, cwd=tmp_path)  # whatever it does, it does it in tmp_path
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith(f"billing {' '.join(a for a in args[:2] if not a.startswith('-'))}: error: ")
    assert message in error, error
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert not data.exists()  # no embedded database was started for it


def test_a_database_url_that_is_not_one_is_one_line() -> None:
    result = billing("migrate", env={"DATABASE_URL": "localhost:5432"})
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("DATABASE_URL is not a database URL: expected postgresql://"), line


def test_an_unreachable_database_is_one_line_with_the_fix(unused_port: int) -> None:
    url = f"postgresql://billing:secret@127.0.0.1:{unused_port}/billing"
    result = billing("tenant", "create", "acme", env={"DATABASE_URL": url})
    assert result.returncode == 1 and result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert "billing tenant create: the database is unavailable" in line and "unset DATABASE_URL" in line, line
    assert "secret" not in line  # never the password


@pytest.fixture
def unused_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    from bench.processes import free_port

    return free_port()
