"""A throw-away database for benchmarks: DATABASE_URL's server, or the embedded one."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from shared.db.migrate import upgrade


@contextlib.contextmanager
def scratch_database() -> Iterator[str]:
    """A freshly migrated database, dropped afterwards."""
    server = None
    if os.environ.get("DATABASE_URL"):
        admin = make_url(os.environ["DATABASE_URL"]).set(drivername="postgresql").render_as_string(hide_password=False)
    else:
        from shared.devdb import start_server

        server = start_server(Path(tempfile.mkdtemp(prefix="billing-bench-")) / "pg", delete_on_exit=True)
        admin = server.get_uri("postgres")
    name = f"bench_{uuid.uuid4().hex[:8]}"

    async def admin_sql(statement: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(admin_sql(f'CREATE DATABASE "{name}"'))
    url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        asyncio.run(admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if server is not None:
            server.cleanup()
