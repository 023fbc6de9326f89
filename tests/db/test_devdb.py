"""The embedded default database: survives restarts, and recovers from a killed owner."""

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import psutil
import pytest

from shared.devdb import embedded_url, prune_dead_handles

# Tests that start, stop and crash private embedded servers share one xdist worker: the wheel's
# servers of two workers restarting at once have broken each other's recovery.
pytestmark = pytest.mark.xdist_group("private-postgres")


async def _run(url: str, sql: str) -> object:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


def _postmaster_pid(pgdata: Path) -> int | None:
    pidfile = pgdata / "postmaster.pid"
    return int(pidfile.read_text().split()[0]) if pidfile.exists() else None


def _running(pid: int | None) -> bool:
    """Alive and not a zombie (an orphaned postmaster that exited may wait to be reaped)."""
    if pid is None:
        return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_data_survives_a_restart_and_the_server_stops_with_its_owner(tmp_path: Path) -> None:
    script = (
        "import asyncio, asyncpg, sys\n"
        "from pathlib import Path\n"
        "from shared.devdb import embedded_url\n"
        "handle, url = embedded_url(Path(sys.argv[1]))\n"
        "async def main():\n"
        "    c = await asyncpg.connect(url)\n"
        "    await c.execute('CREATE TABLE IF NOT EXISTS kept (n int)')\n"
        "    await c.execute('INSERT INTO kept VALUES (1)')\n"
        "    print(await c.fetchval('SELECT count(*) FROM kept'))\n"
        "    await c.close()\n"
        "asyncio.run(main())\n"
    )
    counts = []
    for _ in range(2):
        out = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=120, check=True
        )
        counts.append(int(out.stdout.strip()))
        assert not _running(_postmaster_pid(tmp_path / "pg"))  # a clean exit stopped PostgreSQL
    assert counts == [1, 2]


def test_a_dead_owner_pid_is_forgotten_before_start(tmp_path: Path) -> None:
    pgdata = tmp_path / "pg"
    pgdata.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (pgdata / ".handle_pids.json").write_text(json.dumps([dead.pid, os.getpid()]))
    prune_dead_handles(pgdata)
    assert json.loads((pgdata / ".handle_pids.json").read_text()) == [os.getpid()]


def test_after_a_sigkilled_owner_the_next_clean_exit_still_stops_postgres(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys,time; from pathlib import Path; from shared.devdb import embedded_url;"
            " embedded_url(Path(sys.argv[1])); print('up', flush=True); time.sleep(60)",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "up"
    holder.kill()
    holder.wait()
    pid = _postmaster_pid(tmp_path / "pg")
    assert _running(pid)  # orphaned server, as after a crash
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from shared.devdb import embedded_url;"
            " embedded_url(Path(sys.argv[1]))",
            str(tmp_path),
        ],
        check=True,
        timeout=120,
    )
    assert not _running(_postmaster_pid(tmp_path / "pg")) and not _running(pid)


def test_embedded_url_points_at_a_billing_database(tmp_path: Path) -> None:
    handle, url = embedded_url(tmp_path)
    try:
        assert asyncio.run(_run(url, "SELECT current_database()")) == "billing"
    finally:
        handle.cleanup()  # type: ignore[attr-defined]
