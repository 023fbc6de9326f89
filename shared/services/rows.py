"""Rows to domain values: the one place a plan's cadence and a subscription's lifecycle are
read off their table rows, so every use case hands the domain the same values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.db.subscription_start import PlanTerms, RateRow
from shared.db.tables import Plan, Subscription
from shared.db.tables import TaxRate as TaxRateRow
from shared.domain.money import percent_units
from shared.domain.periods import Cadence, Interval
from shared.domain.proration import BilledItem
from shared.domain.subscriptions import Lifecycle, SubscriptionStatus
from shared.domain.taxes import TaxRate


def cadence_of(plan: Plan | PlanTerms) -> Cadence:
    return Cadence(Interval(plan.interval), plan.interval_count)


def lifecycle_of(row: Subscription) -> Lifecycle:
    return Lifecycle(
        status=SubscriptionStatus(row.status),
        anchor=row.billing_cycle_anchor,
        cycle=row.cycle,
        period_start=row.current_period_start,
        period_end=row.current_period_end,
        cancel_at_period_end=row.cancel_at_period_end,
        canceled_at=row.canceled_at,
        paused_at=row.paused_at,
        ended_at=row.ended_at,
    )


def billed_of(rows: Sequence[Any]) -> list[BilledItem]:
    """Rows of (amount, period_start, period_end) read by Repository.billed_items."""
    return [BilledItem(row.amount, row.period_start, row.period_end) for row in rows]


def tax_rate_of(row: TaxRateRow | RateRow) -> TaxRate:
    return TaxRate(row.id, percent_units(row.percentage), row.inclusive)
