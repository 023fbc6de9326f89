"""Subscription statuses and the first-period rule."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from shared.domain.periods import Cadence, Period


class SubscriptionStatus(StrEnum):
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    PAUSED = "paused"
    CANCELED = "canceled"


# Statuses whose periods roll over and get invoiced.
BILLABLE = (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE, SubscriptionStatus.TRIALING)


@dataclass(frozen=True)
class Start:
    """What a new subscription looks like at `now`.

    `cycle` is the index of the current period's end boundary counted from the anchor:
    current_period_end == cadence.boundary(anchor, cycle) always holds, so a renewal is
    "cycle += 1, the new period ends at boundary(cycle)" and never drifts.
    """

    status: SubscriptionStatus
    anchor: datetime
    cycle: int
    period: Period
    trial_end: datetime | None

    @property
    def invoices_now(self) -> bool:
        """A trial bills nothing until it ends; the first invoice's period starts at trial end."""
        return self.status is SubscriptionStatus.ACTIVE


def start(now: datetime, cadence: Cadence, trial_days: int) -> Start:
    if trial_days > 0:
        trial_end = now + timedelta(days=trial_days)
        # During the trial the "current period" is the trial itself; billing periods
        # are anchored at trial end.
        return Start(SubscriptionStatus.TRIALING, trial_end, 0, Period(now, trial_end), trial_end)
    return Start(SubscriptionStatus.ACTIVE, now, 1, cadence.period(now, 0), None)
