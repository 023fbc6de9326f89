"""Invoices written on the request's raw connection still map constraint violations to a
409 problem (never a 500) and leave nothing behind.

No request reaches the one-cycle-invoice-per-period index any more (pausing and resuming
in the instant a period began resumes that period: tests/api/test_plan_change_rules.py), so
the mapping is exercised through the use case's own helper, as a second writer of the same
period would."""

import asyncpg
import pytest

from shared.db.engine import make_engine, make_sessionmaker
from shared.db.tables import Plan, Subscription
from shared.db.uow import UnitOfWork
from shared.domain.errors import Conflict
from shared.domain.invoices import BillingReason
from shared.domain.periods import Period
from shared.services.subscriptions import issue_plan_invoice
from tests.client import Api


async def test_a_second_cycle_invoice_for_a_period_is_a_conflict_that_leaves_nothing(api: Api) -> None:
    clock = await api.test_clock("2026-03-01T00:00:00Z")
    customer = await api.customer(test_clock=clock["id"])
    subscription = await api.subscribe(customer, await api.plan())
    conn = await asyncpg.connect(api.database_url)
    try:
        tenant_id = await conn.fetchval("SELECT tenant_id FROM subscriptions WHERE id = $1", subscription["id"])
    finally:
        await conn.close()
    engine = make_engine(api.database_url, pool_size=1, max_overflow=0)
    try:
        async with UnitOfWork(make_sessionmaker(engine)) as uow:
            row = await uow.repo(tenant_id).get(Subscription, subscription["id"])
            plan = await uow.repo(tenant_id).get(Plan, row.plan_id)
            period = Period(row.current_period_start, row.current_period_end)
            with pytest.raises(Conflict, match="this period has already been invoiced"):
                await issue_plan_invoice(uow, row, plan, period, BillingReason.SUBSCRIPTION_CYCLE, period.start)
    finally:
        await engine.dispose()

    assert len(await api.invoices(subscription_id=subscription["id"])) == 1
    # The failed write gave its number back: the next invoice of the clock's sequence is 2.
    await api.advance(clock, "2026-04-01T00:00:00Z")
    assert sorted(i["number"] for i in await api.invoices(subscription_id=subscription["id"])) == [1, 2]
