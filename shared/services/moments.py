"""Whose time is it? A customer on a test clock lives in the clock's frozen time;
everyone else in the injected (real) clock's."""
from __future__ import annotations

from datetime import datetime

from shared.clock import Clock
from shared.db.tables import TestClock
from shared.db.uow import UnitOfWork


async def now_for(uow: UnitOfWork, tenant_id: str, test_clock_id: str | None, clock: Clock) -> datetime:
    if test_clock_id is None:
        return clock.now()
    test_clock = await uow.repo(tenant_id).get(TestClock, test_clock_id)
    return test_clock.frozen_time
