"""Test clocks: simulated time for the customers attached to them, and only them."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from shared.clock import Clock
from shared.db.tables import TestClock
from shared.db.uow import UnitOfWork
from shared.domain.errors import Invalid
from shared.domain.ids import new_id
from shared.renewal import Scope, renew
from shared.schemas.test_clocks import TestClockAdvance, TestClockCreate


async def create_test_clock(uow: UnitOfWork, tenant_id: str, cmd: TestClockCreate, clock: Clock) -> TestClock:
    async with uow:
        test_clock = TestClock(tenant_id=tenant_id, id=new_id("clock"), name=cmd.name,
                               frozen_time=cmd.frozen_time, created_at=clock.now())
        uow.repo(tenant_id).add(test_clock)
        await uow.commit()
    return test_clock


async def get_test_clock(uow: UnitOfWork, tenant_id: str, clock_id: str) -> TestClock:
    async with uow:
        return await uow.repo(tenant_id).get(TestClock, clock_id)


async def advance_test_clock(
    uow: UnitOfWork, engine: AsyncEngine, tenant_id: str, clock_id: str, cmd: TestClockAdvance
) -> TestClock:
    """Move the clock forward and run the renewal for exactly its customers up to the new
    time: every cycle, trial end, pending cancel and dunning step in between, in order.
    The clock row stays locked throughout, so concurrent advances queue up; if this dies
    half-way, the clock has not moved and advancing again finishes the work (renewal is
    idempotent)."""
    async with uow:
        test_clock = await uow.repo(tenant_id).get(TestClock, clock_id, for_update=True)
        if cmd.frozen_time <= test_clock.frozen_time:
            raise Invalid(
                f"a test clock only moves forward: {cmd.frozen_time.isoformat()} is not after "
                f"{test_clock.frozen_time.isoformat()}",
                field="frozen_time",
            )
        await renew(engine, Scope(tenant_id=tenant_id, test_clock_id=clock_id), cmd.frozen_time)
        test_clock.frozen_time = cmd.frozen_time
        await uow.commit()
    return test_clock
