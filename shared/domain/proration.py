"""Proration: the unused part of a period, by seconds, rounded once per line (half-up)."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from fractions import Fraction

from shared.domain.money import round_half_up
from shared.domain.periods import Period


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
