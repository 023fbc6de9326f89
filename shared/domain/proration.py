"""Proration: the unused part of a period, by seconds, rounded once per line (half-up).

A plan change mid-period (`create_prorations`, `always_invoice`) makes two lines, each
covering the rest of the current period, from the change to the period end:

- the credit is the unused remainder of what was actually billed for that rest
  (`unused_billed`): the period's cycle line, plus earlier proration charges and minus
  earlier proration credits, each pro rata to its own covered interval, whether still
  pending or invoiced (a void invoice billed nothing). Never the old plan's list price:
  10.00 -> 100.00 (`none`) -> 5.00 mid-period credits half of the 10.00 billed;
- the charge prices the rest at the new plan's own rate (`charge_at_own_rate`): its amount
  per one of its own periods. When the current period is a period of the new plan's cadence
  (same interval), that is the current period itself (amount x seconds left / seconds in
  the period); otherwise one new-plan period counted from the current period's start:
  monthly 10.00 -> daily 1.00 at mid-month charges 1.00 per remaining day, monthly ->
  yearly 120.00 charges 120.00 x remaining / (365 or 366 days). The subscription keeps its
  current period; the new cadence starts at its end (see periods.next_period).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from fractions import Fraction

from shared.domain.money import round_half_up
from shared.domain.periods import Cadence, Period, is_cycle


# What a plan change does with the unused part of the current period. (No docstring:
# pydantic would publish it as the enum's OpenAPI description.)
class Proration(StrEnum):
    CREATE_PRORATIONS = "create_prorations"  # credit + charge lines join the next renewal invoice
    ALWAYS_INVOICE = "always_invoice"  # ... invoiced at once
    NONE = "none"  # no proration: the new price applies from the next period


def remaining_fraction(period: Period, at: datetime) -> Fraction:
    """Share of the period still to come at `at`, exact (whole microseconds), in [0, 1]."""
    total = period.end - period.start
    left = min(max(period.end - at, total * 0), total)
    return Fraction(_micros(left), _micros(total))


def _micros(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def prorate(amount: int, period: Period, at: datetime) -> int:
    """`amount` (minor units, for the whole period) scaled to what remains at `at`."""
    return round_half_up(amount * remaining_fraction(period, at))


def change_lines(old_amount: int, new_amount: int, period: Period, at: datetime) -> tuple[int, int]:
    """(credit for the unused old plan, charge for the new plan's remainder).
    The credit is negative; each is rounded on its own, so lines sum to the total exactly."""
    return -prorate(old_amount, period, at), prorate(new_amount, period, at)


@dataclass(frozen=True)
class BilledItem:
    """Something billed for a stretch of time: a cycle line, a proration charge (positive)
    or credit (negative), pending or invoiced."""

    amount: int
    start: datetime
    end: datetime


def unused_billed(items: Sequence[BilledItem], at: datetime, until: datetime) -> int:
    """The unused remainder of what was billed: each item's amount pro rata to the part of
    [at, until] its own interval covers, summed exactly and rounded half-up once."""
    unused = Fraction(0)
    for item in items:
        length, left = item.end - item.start, min(item.end, until) - max(item.start, at)
        if length > timedelta(0) and left > timedelta(0):
            unused += item.amount * Fraction(_micros(left), _micros(length))
    return round_half_up(unused)


def charge_at_own_rate(
    amount: int, cadence: Cadence, anchor: datetime, cycle: int, period: Period, at: datetime
) -> int:
    """The new plan's charge for the rest of `period` after `at`, at its own rate: `amount`
    per one of its periods (the current one if it is a period of `cadence` from the anchor,
    else one counted from the current period's start)."""
    unit = (
        period if is_cycle(cadence, anchor, cycle, period) else Period(period.start, cadence.boundary(period.start, 1))
    )
    left = max(period.end - at, timedelta(0))
    return round_half_up(amount * Fraction(_micros(left), _micros(unit.end - unit.start)))
