"""Test clocks: simulated time for the customers attached to them, and only them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.exc import DBAPIError

from shared.clock import Clock
from shared.db.repository import Page
from shared.db.tables import TestClock
from shared.db.uow import UnitOfWork
from shared.domain.errors import Conflict, Invalid, NotFound
from shared.domain.ids import new_id
from shared.events import outbox

READY, ADVANCING = "ready", "advancing"


async def create_test_clock(
    uow: UnitOfWork, tenant_id: str, clock: Clock, *, frozen_time: datetime, name: str | None = None
) -> TestClock:
    async with uow:
        test_clock = TestClock(
            tenant_id=tenant_id,
            id=new_id("clock"),
            name=name,
            frozen_time=frozen_time,
            status=READY,
            created_at=clock.now(),
        )
        uow.repo(tenant_id).add(test_clock)
        await uow.commit()
    return test_clock


async def get_test_clock(uow: UnitOfWork, tenant_id: str, clock_id: str) -> TestClock:
    async with uow:
        return await uow.repo(tenant_id).get(TestClock, clock_id)


async def list_test_clocks(
    uow: UnitOfWork, tenant_id: str, *, limit: int, starting_after: str | None = None
) -> Page[TestClock]:
    async with uow:
        return await uow.repo(tenant_id).page(TestClock, limit=limit, starting_after=starting_after)


def _refuse_if_advancing(test_clock: TestClock) -> None:
    if test_clock.status == ADVANCING:
        raise Conflict("test clock is advancing: delete it once its status is ready", field="status")


_DEADLOCK = "40P01"


async def delete_test_clock(uow: UnitOfWork, tenant_id: str, clock_id: str) -> None:
    """Remove the clock, its customers and everything simulated for them (subscriptions,
    invoices with their lines, pending items) in one transaction, one set-based statement
    per table, children first. Real data is never reached: every statement goes through the
    clock's customers. Idempotency keys are the tenant's, not the clock's: they stay."""
    async with uow:
        _refuse_if_advancing(await uow.repo(tenant_id).get(TestClock, clock_id))  # 404 / 409 before any lock
        try:
            await _delete_simulation(uow, tenant_id, clock_id)
        except DBAPIError as error:
            # An advance accepted between the check above and the clock's lock can deadlock
            # with us; PostgreSQL rolled this back whole, so the client may simply retry.
            if getattr(error.orig, "sqlstate", None) != _DEADLOCK:
                raise
            raise Conflict("test clock changed while being deleted (an advance began): try again", field="id") from None
        await uow.commit()


async def _delete_simulation(uow: UnitOfWork, tenant_id: str, clock_id: str) -> None:
    """Lock order: the clock's customers first (this waits for requests still writing for
    them, which may need the clock row for an invoice number), then the clock row (FOR
    UPDATE: no new customer, advance or invoice number for it until we commit)."""
    repo = uow.repo(tenant_id)
    await repo.lock_test_clock_customers(clock_id)
    test_clock = await repo.locked_test_clock(clock_id)
    if test_clock is None:  # deleted by a concurrent request that got there first
        raise NotFound(f"no such testclock: '{clock_id}'", field="id")
    _refuse_if_advancing(test_clock)  # again, under the lock
    await repo.delete_test_clock_simulation(clock_id)


async def advance_test_clock(
    uow: UnitOfWork,
    tenant_id: str,
    clock_id: str,
    *,
    frozen_time: datetime,
    on_accepted: Callable[[], None] | None = None,
) -> TestClock:
    """Accept an advance in one short transaction: the clock shows the target time at once
    and is `advancing` until a background worker (shared.renewal.clock_advances) has
    renewed its customers up to it; then it is `ready` again. The work itself never runs
    in the request, so however far the clock moves, the reply is immediate."""
    async with uow:
        test_clock = await uow.repo(tenant_id).get(TestClock, clock_id, for_update=True)
        if test_clock.status == ADVANCING:
            raise Conflict("test clock is advancing: wait until its status is ready", field="status")
        if frozen_time <= test_clock.frozen_time:
            raise Invalid(
                f"a test clock only moves forward: {frozen_time.isoformat()} is not after "
                f"{test_clock.frozen_time.isoformat()}",
                field="frozen_time",
            )
        test_clock.frozen_time = frozen_time
        test_clock.status = ADVANCING
        test_clock.lease_until = None
        outbox.record(uow, "test_helpers.test_clock.advancing", test_clock, frozen_time)
        if on_accepted is not None:  # e.g. wake a worker: only once the advance is visible to it
            uow.after_commit(on_accepted)
        await uow.commit()
    return test_clock
