"""Test harness: a real PostgreSQL server, one migrated template database, and a fresh
database per test cloned from it (CREATE DATABASE ... TEMPLATE), so tests cannot leak
into each other and run in any order.

The server is DATABASE_URL when set (its database is used only to create others),
else the embedded PostgreSQL in a temporary folder, deleted afterwards.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy.engine import make_url

from shared.clock import FrozenClock
from shared.db.migrate import upgrade
from tests.client import Api

# Properties are about correctness, never speed: no per-example deadline (a loaded CI
# machine must not turn a slow example into a failure).
hypothesis_settings.register_profile("billing", deadline=None)
hypothesis_settings.load_profile("billing")

BOOTSTRAP_KEY = "sk_test_bootstrap_key_for_the_default_tenant"
START = datetime(2026, 1, 31, 10, 0, tzinfo=UTC)
GENEROUS_LIMITS = {
    "rate_limit_per_second": 10_000.0,
    "rate_limit_burst": 100_000,
    "auth_failures_per_second": 10_000.0,
    "auth_failure_burst": 100_000,
}


def with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def plain(url: str) -> str:
    """asyncpg wants postgresql://, without a +driver suffix."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    external = os.environ.get("DATABASE_URL")
    if external:
        yield plain(external)
        return
    from shared.devdb import start_server

    folder = Path(tempfile.mkdtemp(prefix="billing-test-pg-"))
    server = start_server(folder / "pg", delete_on_exit=True)
    yield server.get_uri("postgres")
    server.cleanup()


async def _admin(server_url: str, *statements: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def template_db(server_url: str) -> Iterator[str]:
    name = f"billing_template_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(server_url, f'CREATE DATABASE "{name}"'))
    upgrade(with_database(server_url, name))
    yield name
    asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def database_url(server_url: str, template_db: str) -> AsyncIterator[str]:
    name = f"test_{uuid.uuid4().hex[:12]}"
    await _admin(server_url, f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    yield with_database(server_url, name)
    await _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def empty_database_url(server_url: str) -> AsyncIterator[str]:
    """A database with no schema at all, for migration tests."""
    name = f"empty_{uuid.uuid4().hex[:12]}"
    await _admin(server_url, f'CREATE DATABASE "{name}"')
    yield with_database(server_url, name)
    await _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
async def api(aiohttp_client, database_url: str, clock: FrozenClock) -> Api:  # type: ignore[no-untyped-def]
    """The whole function set behind a real HTTP server on loopback, with the default
    tenant's key. Use `await api.as_new_tenant()` for a second, isolated tenant."""
    from shared.runtime.app import make_app
    from shared.settings import Settings

    # Limits far above anything a test sends: the rate-limit tests build their own apps.
    settings = Settings(database_url=database_url, bootstrap_api_key=BOOTSTRAP_KEY, **GENEROUS_LIMITS)
    client = await aiohttp_client(make_app(settings, clock=clock))
    return Api(client, BOOTSTRAP_KEY, database_url)
