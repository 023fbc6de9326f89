"""Whose time is it? A customer on a test clock lives in the clock's frozen time;
everyone else in the injected (real) clock's."""

from __future__ import annotations

from datetime import datetime

from shared.clock import Clock
from shared.db.uow import UnitOfWork
from shared.domain.errors import Conflict


async def now_for(uow: UnitOfWork, tenant_id: str, test_clock_id: str | None, clock: Clock) -> datetime:
    """The customer's time, for a write about to act at it. While the customer's test clock
    is advancing, its time is still being caught up with: such writes are refused (409).
    The clock row is key-share locked until the write commits, so an advance (which locks
    it for update) cannot start under a write that read the old time."""
    if test_clock_id is None:
        return clock.now()
    test_clock = await uow.repo(tenant_id).test_clock_for_write(test_clock_id)
    if test_clock.status != "ready":
        raise Conflict("test clock is advancing: retry once its status is ready", field="test_clock")
    return test_clock.frozen_time
