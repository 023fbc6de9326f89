"""Tenant names: trimmed, never empty, unique regardless of case; the CLI says so in one line."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from shared.clock import SystemClock
from shared.db.engine import make_engine, make_sessionmaker
from shared.db.uow import UnitOfWork
from shared.domain.errors import Conflict, Invalid
from shared.services.tenants import create_tenant
from tests.api.test_api_key_cli import billing
from tests.client import Api


async def _tenants(database_url: str) -> list[str]:
    conn = await asyncpg.connect(database_url)
    try:
        return [r["name"] for r in await conn.fetch("SELECT name FROM tenants ORDER BY created_at, id")]
    finally:
        await conn.close()


def test_the_cli_refuses_empty_and_duplicate_names_in_one_line(api: Api, database_url: str) -> None:
    created = billing(database_url, "tenant", "create", "  Acme Corp ")
    assert created.stdout.strip().startswith("sk_") and "(Acme Corp)" in created.stderr
    for name, message in [
        ("", "must not be empty"),
        ("   \t ", "must not be empty"),
        ("acme corp", "already exists"),
        (" ACME CORP", "already exists"),
        ("DEFAULT", "already exists"),  # the bootstrap tenant's name
        ("two\nlines", "control characters"),
        ("x" * 257, "at most 256"),
    ]:
        result = billing(database_url, "tenant", "create", name, check=False)
        assert result.returncode != 0, (name, result)
        assert result.stdout == "" and "Traceback" not in result.stderr, (name, result.stderr)
        lines = result.stderr.strip().splitlines()
        if not name.strip():  # caught by the argument parser: its usage line, then the one-line reason
            assert result.returncode == 2 and lines[0].startswith("usage: billing tenant create"), (name, lines)
            lines = lines[1:]
        assert len(lines) == 1 and lines[0].startswith("billing tenant create: ") and message in lines[0], (name, lines)


async def test_the_service_trims_and_refuses_without_writing(api: Api, database_url: str) -> None:
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    try:
        uow = lambda: UnitOfWork(make_sessionmaker(engine))  # noqa: E731
        created = await create_tenant(uow(), "  Ünïcode Ltd  ", SystemClock())
        assert created.tenant.name == "Ünïcode Ltd"
        before = await _tenants(database_url)
        with pytest.raises(Invalid):
            await create_tenant(uow(), " \u00a0 ", SystemClock())
        with pytest.raises(Conflict, match="already exists"):
            await create_tenant(uow(), "ÜNÏCODE LTD", SystemClock())
        assert await _tenants(database_url) == before
    finally:
        await engine.dispose()


async def test_concurrent_creations_of_one_name_make_one_tenant(database_url: str) -> None:
    """The check before the insert cannot see an uncommitted twin: the unique index decides."""
    engines = [make_engine(database_url, pool_size=1, max_overflow=0) for _ in range(4)]
    try:
        results = await asyncio.gather(
            *(
                create_tenant(UnitOfWork(make_sessionmaker(e)), f"Twin{' ' * n}", SystemClock())
                for n, e in enumerate(engines)
            ),
            return_exceptions=True,
        )
    finally:
        await asyncio.gather(*(e.dispose() for e in engines))
    assert sum(not isinstance(r, BaseException) for r in results) == 1, results
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, BaseException)), results
    assert (await _tenants(database_url)).count("Twin") == 1
