"""Calendar arithmetic for billing periods.

A subscription's periods are always computed from its billing-cycle anchor, never
by chaining "add one month" to the previous end: chaining would drift
(Jan 31 -> Feb 28 -> Mar 28). From the anchor, cycle n ends at anchor + n intervals,
with the day clamped to the month's last day: Jan 31 -> Feb 28 (29) -> Mar 31.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum


class Interval(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


# Longest billing period accepted, as Stripe does: three years.
MAX_INTERVAL_COUNT = {Interval.DAY: 1095, Interval.WEEK: 156, Interval.MONTH: 36, Interval.YEAR: 3}


def add_months(moment: datetime, months: int) -> datetime:
    """Shift by whole calendar months, clamping the day to the target month's length."""
    total = moment.year * 12 + (moment.month - 1) + months
    year, month0 = divmod(total, 12)
    day = min(moment.day, calendar.monthrange(year, month0 + 1)[1])
    return moment.replace(year=year, month=month0 + 1, day=day)


def shift(anchor: datetime, interval: Interval, count: int) -> datetime:
    """anchor + count intervals (count may be any integer >= 0)."""
    if interval is Interval.DAY:
        return anchor + timedelta(days=count)
    if interval is Interval.WEEK:
        return anchor + timedelta(weeks=count)
    if interval is Interval.MONTH:
        return add_months(anchor, count)
    return add_months(anchor, 12 * count)


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"empty period {self.start} .. {self.end}")


@dataclass(frozen=True)
class Cadence:
    """How often a plan bills: every `count` `interval`s."""

    interval: Interval
    count: int = 1

    def boundary(self, anchor: datetime, n: int) -> datetime:
        """The n-th period boundary after the anchor (boundary 0 is the anchor itself)."""
        return shift(anchor, self.interval, n * self.count)

    def period(self, anchor: datetime, cycle: int) -> Period:
        """The cycle-th period (0-based) counted from the anchor."""
        return Period(self.boundary(anchor, cycle), self.boundary(anchor, cycle + 1))


def is_cycle(cadence: Cadence, anchor: datetime, cycle: int, period: Period) -> bool:
    """Is `period` the cycle-th period of `cadence` counted from `anchor` (its end at boundary
    `cycle`, its start at boundary `cycle - 1`)? Cycle 0 is a trial, which ends at the anchor.
    Cadences that make the same boundaries (12 months and 1 year, 7 days and 1 week) agree."""
    if cadence.boundary(anchor, cycle) != period.end:
        return False
    return cycle == 0 or cadence.boundary(anchor, cycle - 1) == period.start


def next_period(cadence: Cadence, anchor: datetime, cycle: int, current: Period) -> tuple[datetime, int, Period]:
    """The re-anchor rule, applied where a period ends (renewal and its preview): the period
    after `current` with (anchor, cycle) for it. The anchor stays while `current` is a period
    of the plan's cadence from it; when the plan's cadence differs from the current period's
    (a plan with another interval was chosen during it), `current`'s end becomes the anchor.
    Only the cadence at the period end counts: monthly from Jan 31 -> yearly -> monthly within
    one period keeps the Jan 31 anchor (Feb 28/29, Mar 31, ...)."""
    if not is_cycle(cadence, anchor, cycle, current):
        anchor, cycle = current.end, 0
    return anchor, cycle + 1, cadence.period(anchor, cycle)


def utc(moment: datetime) -> datetime:
    """Normalise to an aware UTC datetime; naive input is rejected, never guessed."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: every timestamp must carry a timezone")
    return moment.astimezone(UTC)
