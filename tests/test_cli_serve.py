"""`billing serve` as a newcomer meets it, each case a real process on loopback: a taken port
(chosen: one line naming its holder; not chosen: the next free port), a database that does
not answer (one line, then 503s) or refuses us (one line, exit), and what it says at start
and at shutdown."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bench.processes import BILLING, free_port, stop, wait_ready
from shared.runtime.registry import all_operations
from tests.conftest import BOOTSTRAP_KEY, with_database

SERVING = re.compile(r"serving (\d+) operations? on (http://127\.0\.0\.1:(\d+))")


@contextmanager
def served(tmp_path: Path, env: dict[str, str]) -> Iterator[tuple[subprocess.Popen, Path]]:
    """`billing serve` with stderr in a file (read it any time; a pipe could fill up)."""
    log = tmp_path / "serve.log"
    full = {
        **os.environ,
        "HOST": "127.0.0.1",
        "BILLING_TELEMETRY": "off",
        "BILLING_DATA_DIR": str(tmp_path / "data"),
        **env,
    }
    for name in [k for k, v in full.items() if v is None]:
        del full[name]
    with log.open("wb") as stderr:
        process = subprocess.Popen([str(BILLING), "serve"], env=full, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        yield process, log
    finally:
        stop(process)


def lines(log: Path) -> list[str]:
    """The log's messages (JSON lines: stderr is not a terminal here), other lines as they are."""
    found = []
    for line in log.read_text().splitlines():
        try:
            found.append(json.loads(line)["message"])
        except (ValueError, KeyError, TypeError):
            found.append(line)
    return found


def wait_for_line(log: Path, process: subprocess.Popen, pattern: re.Pattern[str], seconds: float = 300) -> re.Match:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for line in lines(log):
            if found := pattern.search(line):
                return found
        assert process.poll() is None, f"exited {process.returncode}: {log.read_text()}"
        time.sleep(0.1)
    raise AssertionError(f"no line matching {pattern.pattern!r} within {seconds}s: {log.read_text()}")


def get(url: str, key: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def free_pair() -> int:
    """A port p with p and p + 1 free (the combined server's default internal port is PORT + 1)."""
    for _ in range(100):
        port = free_port()
        try:
            with socket.create_server(("127.0.0.1", port + 1)):
                return port
        except OSError:
            continue
    raise AssertionError("no two adjacent free ports on loopback")


def test_a_chosen_port_that_is_taken_is_one_line_naming_its_holder(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        # No DATABASE_URL: the port is checked before the embedded database is started.
        with served(tmp_path, {"PORT": str(port), "DATABASE_URL": None}) as (process, log):
            assert process.wait(timeout=300) != 0
    [line] = log.read_text().strip().splitlines()
    assert line.startswith(f"billing serve: port {port} is in use by pid {os.getpid()} (") and line.endswith(
        ") on 127.0.0.1: stop it, or set another PORT"
    ), line
    assert "python" in line  # the holder's command line: this test's interpreter
    assert not (tmp_path / "data").exists()


def test_an_unchosen_port_that_is_taken_moves_to_the_next_free_one(tmp_path: Path, database_url: str) -> None:
    """Without PORT the default is 8080: take it (unless someone already has) and serve anyway."""
    holder = None
    with contextlib.suppress(OSError):  # 8080 may be taken already, which is the case under test
        holder = socket.create_server(("127.0.0.1", 8080))
    try:
        env = {"PORT": None, "DATABASE_URL": database_url, "BILLING_INTERNAL_PORT": str(free_port())}
        with served(tmp_path, env) as (process, log):
            found = wait_for_line(log, process, SERVING)
            port = int(found.group(3))
            assert port != 8080
            assert get(f"{found.group(2)}/health") == (200, {"status": "ok"})
            assert any(
                line.startswith("port 8080 is in use") and line.endswith(f"PORT is not set, so using {port} instead")
                for line in lines(log)
            ), lines(log)
    finally:
        if holder is not None:
            holder.close()


def test_an_unchosen_internal_port_that_is_taken_moves_too(tmp_path: Path, database_url: str) -> None:
    port = free_pair()
    with (
        socket.create_server(("127.0.0.1", port + 1)),
        served(tmp_path, {"PORT": str(port), "DATABASE_URL": database_url}) as (process, log),
    ):
        wait_ready(f"http://127.0.0.1:{port}", process)
        moved = [line for line in lines(log) if line.startswith(f"port {port + 1} is in use by pid {os.getpid()}")]
        assert moved and "BILLING_INTERNAL_PORT is not set, so using" in moved[0], lines(log)
        internal = int(moved[0].rsplit("using ", 1)[1].split()[0])
        request = urllib.request.Request(f"http://127.0.0.1:{internal}/metrics")  # served only there
        with urllib.request.urlopen(request, timeout=60) as reply:
            assert reply.status == 200


def test_start_up_counts_operations_and_shutdown_is_logged(tmp_path: Path, database_url: str) -> None:
    port = free_pair()
    with served(tmp_path, {"PORT": str(port), "DATABASE_URL": database_url}) as (process, log):
        wait_ready(f"http://127.0.0.1:{port}", process)
        process.terminate()
        assert process.wait(timeout=120) == 0
    messages = lines(log)
    operations = all_operations()
    internal = sum(1 for op in operations if not op.public)
    [serving] = [m for m in messages if m.startswith("serving ")]
    assert serving == (
        f"serving {len(operations) - internal} operations on http://127.0.0.1:{port} (docs at "
        f"http://127.0.0.1:{port}/docs); internal: {internal} operation{'' if internal == 1 else 's'} and /metrics on "
        f"http://127.0.0.1:{port + 1}"
    )
    assert messages[-1] == (
        f"stopped serving on http://127.0.0.1:{port}: in-flight requests finished, database connections closed"
    )


def test_a_database_that_does_not_answer_is_one_line_and_the_api_answers_503(tmp_path: Path) -> None:
    url = f"postgresql://billing:secret@127.0.0.1:{free_port()}/billing"  # nothing listens there
    port = free_pair()
    with served(tmp_path, {"PORT": str(port), "DATABASE_URL": url, "BILLING_BOOTSTRAP_API_KEY": None}) as (
        process,
        log,
    ):
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, process, path="/health")
        status, problem = get(f"{base}/v1/customers", BOOTSTRAP_KEY)
        assert status == 503 and problem["status"] == 503, problem
        assert get(f"{base}/ready")[0] == 503
    text = log.read_text()
    assert "Traceback" not in text and "secret" not in text
    [warning] = [m for m in lines(log) if "DATABASE_URL" in m]
    assert warning.startswith(
        f"the database at DATABASE_URL=postgresql://billing:***@127.0.0.1:{url.rsplit(':', 1)[1]}"
        " does not answer (ConnectionRefusedError"
    ), warning
    assert warning.endswith(
        "serving anyway, API calls answer 503 until it does; start PostgreSQL there, correct "
        "DATABASE_URL, or unset DATABASE_URL to use the embedded database"
    ), warning


@pytest.mark.parametrize("problem", ["no such database", "no such user"])
def test_a_database_that_refuses_us_is_one_line_and_exit(tmp_path: Path, database_url: str, problem: str) -> None:
    from sqlalchemy.engine import make_url

    url = with_database(database_url, "no_such_database")
    if problem == "no such user":
        url = make_url(database_url).set(username="nobody_here", password="pw-x1").render_as_string(hide_password=False)
    with served(tmp_path, {"PORT": str(free_pair()), "DATABASE_URL": url}) as (process, log):
        assert process.wait(timeout=300) == 1
    text = log.read_text()
    assert "Traceback" not in text and "pw-x1" not in text
    [line] = [m for m in lines(log) if "DATABASE_URL" in m]
    assert line.startswith("billing serve: cannot use the database at DATABASE_URL=") and line.endswith(
        "correct DATABASE_URL, or unset DATABASE_URL to use the embedded database"
    ), line
    assert not any(m.startswith("serving ") for m in lines(log))
