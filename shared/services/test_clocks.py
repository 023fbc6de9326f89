"""Test clocks: simulated time for the customers attached to them, and only them."""
from __future__ import annotations

from collections.abc import Callable

from shared.clock import Clock
from shared.db.tables import TestClock
from shared.db.uow import UnitOfWork
from shared.domain.errors import Conflict, Invalid
from shared.domain.ids import new_id
from shared.schemas.test_clocks import TestClockAdvance, TestClockCreate

READY, ADVANCING = "ready", "advancing"


async def create_test_clock(uow: UnitOfWork, tenant_id: str, cmd: TestClockCreate, clock: Clock) -> TestClock:
    async with uow:
        test_clock = TestClock(tenant_id=tenant_id, id=new_id("clock"), name=cmd.name,
                               frozen_time=cmd.frozen_time, status=READY, created_at=clock.now())
        uow.repo(tenant_id).add(test_clock)
        await uow.commit()
    return test_clock


async def get_test_clock(uow: UnitOfWork, tenant_id: str, clock_id: str) -> TestClock:
    async with uow:
        return await uow.repo(tenant_id).get(TestClock, clock_id)


async def advance_test_clock(uow: UnitOfWork, tenant_id: str, clock_id: str, cmd: TestClockAdvance,
                             on_accepted: Callable[[], None] | None = None) -> TestClock:
    """Accept an advance in one short transaction: the clock shows the target time at once
    and is `advancing` until a background worker (shared.renewal.clock_advances) has
    renewed its customers up to it; then it is `ready` again. The work itself never runs
    in the request, so however far the clock moves, the reply is immediate."""
    async with uow:
        test_clock = await uow.repo(tenant_id).get(TestClock, clock_id, for_update=True)
        if test_clock.status == ADVANCING:
            raise Conflict("test clock is advancing: wait until its status is ready", field="status")
        if cmd.frozen_time <= test_clock.frozen_time:
            raise Invalid(
                f"a test clock only moves forward: {cmd.frozen_time.isoformat()} is not after "
                f"{test_clock.frozen_time.isoformat()}",
                field="frozen_time",
            )
        test_clock.frozen_time = cmd.frozen_time
        test_clock.status = ADVANCING
        test_clock.lease_until = None
        if on_accepted is not None:  # e.g. wake a worker: only once the advance is visible to it
            uow.after_commit(on_accepted)
        await uow.commit()
    return test_clock
