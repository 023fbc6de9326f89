"""Usage billed by requests: a cancel-now or plan change closes the usage period and bills
it at once; the upcoming-invoice preview shows the usage so far. (Renewal runs bill usage
in arrears in shared.renewal.engine, with the same domain rules.)"""

from __future__ import annotations

from datetime import datetime

from shared.db import usage_store
from shared.db.tables import Plan, Subscription
from shared.db.uow import UnitOfWork
from shared.domain.invoices import LineDraft, usage_period
from shared.domain.periods import Period
from shared.domain.subscriptions import SubscriptionStatus
from shared.domain.usage_pricing import plan_charges, usage_lines


async def measured_lines(
    uow: UnitOfWork, subscription: Subscription, plan: Plan, until: datetime
) -> tuple[Period | None, list[LineDraft], int]:
    """The subscription's unbilled usage lines up to `until` under `plan`'s charges: the
    period, the lines, and how many events they count."""
    charges = plan_charges(plan.usage_charges)
    if not charges or until <= subscription.current_period_start:
        return None, [], 0
    current = Period(subscription.current_period_start, until)
    window = usage_period(SubscriptionStatus(subscription.status), current, subscription.usage_billed_until, 0, None)
    if window is None:
        return None, [], 0
    windows = [
        usage_store.Window(subscription.tenant_id, subscription.customer_id, c.meter, window.start, window.end)
        for c in charges
    ]
    found = await usage_store.quantities(await uow.driver_connection(), windows)
    measured = [None if q is None else (q.meter_name, q.quantity) for q in found]
    events = sum(q.events for q in found if q is not None)
    return window, usage_lines(charges, measured, window, plan.id), events


async def close_usage(
    uow: UnitOfWork, subscription: Subscription, plan: Plan, now: datetime
) -> tuple[Period | None, list[LineDraft]]:
    """Close the usage period at `now` (the subscription row is locked by the caller): the
    period and lines of the usage not billed yet (None and no lines if nothing was used).
    Usage before `now` counts as billed from then on: the caller invoices the lines."""
    window, lines, events = await measured_lines(uow, subscription, plan, now)
    if window is not None:
        subscription.usage_billed_until = now
    return (window, lines) if events else (None, [])
