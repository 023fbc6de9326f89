"""A test clock deleted while a request writes for one of its customers: the foreign key
refuses the write, and the client gets a 409 problem, not a 500."""

import asyncio

import asyncpg

from tests.client import Api


async def test_a_customer_for_a_clock_deleted_meanwhile_is_a_conflict(api: Api) -> None:
    clock = await api.test_clock("2026-01-01T00:00:00Z")
    conn = await asyncpg.connect(api.database_url)
    try:
        # Lock the clock's row: the create reads the clock, then its insert's foreign-key check
        # waits on the lock; the clock is deleted meanwhile, so the check fails.
        tx = conn.transaction()
        await tx.start()
        await conn.execute("SELECT 1 FROM test_clocks WHERE id = $1 FOR UPDATE", clock["id"])
        create = asyncio.create_task(
            api.post("/v1/customers", {"email": "late@example.com", "name": "Late", "test_clock": clock["id"]})
        )
        await asyncio.sleep(0.5)
        await conn.execute("DELETE FROM test_clocks WHERE id = $1", clock["id"])
        await tx.commit()
        reply = await create
    finally:
        await conn.close()
    assert reply.status in (404, 409), reply
    assert reply.headers["Content-Type"].startswith("application/problem+json")
