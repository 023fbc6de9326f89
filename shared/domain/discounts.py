"""Coupons and the discounts they give: which lines a discount applies to, how much each
line gets, how long a discount lasts, and whether a coupon may be redeemed. Applied by
shared.domain.invoice_totals (the one totals pipeline): lines -> discounts -> taxes -> balance.

- percent_off (0 < p <= 100, up to 2 decimals): each eligible line gets
  `amount * p / 100`, rounded half-up once per line.
- amount_off (in the coupon's currency only): spread over the eligible positive lines in
  proportion to their amounts, never more than they sum to; the remainders of the exact
  shares go one minor unit at a time to the largest fractional parts (earlier lines first
  on ties), so the shares always sum exactly to what is taken off.
- Eligible lines: every line, or with `applies_to.plans` only the lines of those plans.
- Duration counts billing periods (so it means the same on weekly and yearly plans):
  `once` is one period, `repeating` `duration_in_periods`, `forever` no end. Each invoice
  that starts a new period (subscription create, cycle) uses up one period of the discount;
  an invoice within a period (a plan change billed at once) is discounted while the
  discount lasts and uses up none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from shared.domain.errors import Conflict, Invalid
from shared.domain.money import percent_of, percent_units


class Duration(StrEnum):
    ONCE = "once"
    REPEATING = "repeating"
    FOREVER = "forever"


def periods_of(duration: Duration, duration_in_periods: int | None) -> int | None:
    """How many billing periods a new discount lasts (None: forever)."""
    if duration is Duration.ONCE:
        return 1
    if duration is Duration.FOREVER:
        return None
    if duration_in_periods is None or duration_in_periods < 1:
        raise Invalid("a repeating coupon needs duration_in_periods >= 1", field="duration_in_periods")
    return duration_in_periods


@dataclass(frozen=True)
class Discount:
    """A subscription's discount as an invoice applies it."""

    id: str
    coupon_id: str
    percent_off: int | None  # units of 1/10,000 % (shared.domain.money.PERCENT_SCALE)
    amount_off: int | None  # minor units of `currency`
    currency: str | None
    plan_ids: frozenset[str] | None = None  # None: applies to every line
    periods_left: int | None = None  # None: forever

    @classmethod
    def of(
        cls,
        id: str,
        coupon_id: str,
        percent_off: Decimal | None,
        amount_off: int | None,
        currency: str | None,
        applies_to_plans: Sequence[str] | None,
        periods_left: int | None,
    ) -> Discount:
        """A discount from stored values (percent_off as its Decimal)."""
        return cls(
            id,
            coupon_id,
            None if percent_off is None else percent_units(percent_off, decimals=2, field="percent_off"),
            amount_off,
            currency,
            None if applies_to_plans is None else frozenset(applies_to_plans),
            periods_left,
        )

    @property
    def active(self) -> bool:
        return self.periods_left is None or self.periods_left > 0

    def after_new_period(self) -> Discount:
        """The discount once an invoice for a new billing period used it."""
        if self.periods_left is None or self.periods_left == 0:
            return self
        return replace(self, periods_left=self.periods_left - 1)


@dataclass(frozen=True)
class DiscountAmount:
    discount: str
    amount: int  # taken off the line (positive for a positive line)


def _eligible(discount: Discount, plan_id: str | None) -> bool:
    return discount.plan_ids is None or plan_id in discount.plan_ids


def line_discounts(
    amounts: Sequence[int], plan_ids: Sequence[str | None], discount: Discount | None, currency: str
) -> list[int]:
    """What `discount` takes off each line (0 where it does not apply)."""
    if discount is None or not discount.active:
        return [0] * len(amounts)
    eligible = [_eligible(discount, plan_id) for plan_id in plan_ids]
    if discount.percent_off is not None:
        return [percent_of(a, discount.percent_off) if ok else 0 for a, ok in zip(amounts, eligible)]
    if discount.amount_off is None or discount.currency != currency:
        return [0] * len(amounts)
    weights = [a if ok and a > 0 else 0 for a, ok in zip(amounts, eligible)]
    return spread(min(discount.amount_off, sum(weights)), weights)


def spread(total: int, weights: Sequence[int]) -> list[int]:
    """`total` (>= 0) split in proportion to non-negative `weights` by the largest-remainder
    method: the shares sum exactly to `total` (all 0 when the weights are)."""
    whole = sum(weights)
    if whole == 0 or total == 0:
        return [0] * len(weights)
    shares = [divmod(total * w, whole) for w in weights]
    result = [q for q, _ in shares]
    left = total - sum(result)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-shares[i][1], i))
    for i in by_remainder[:left]:
        result[i] += 1
    return result


@dataclass(frozen=True)
class Redeemable:
    """What decides whether a coupon (and the promotion code it came through) can be
    redeemed now for a plan in `currency`."""

    valid: bool  # the coupon is not deleted
    redeem_by: datetime | None
    amount_off_currency: str | None
    plan_ids: frozenset[str] | None
    code_active: bool = True
    code_expires_at: datetime | None = None
    first_time_only: bool = False


def check_redeemable(r: Redeemable, *, now: datetime, currency: str, plan_id: str, has_invoices: bool) -> None:
    """Conflict with the reason (deleted, past redeem_by, inactive, expired, first time
    only, another currency, not for this plan): the coupon's terms conflict with the
    subscription's state. The redemption limits are counted by the database."""
    if not r.valid:
        raise Conflict("the coupon was deleted and takes no new redemptions", field="coupon")
    if r.redeem_by is not None and now >= r.redeem_by:
        raise Conflict(f"the coupon could be redeemed until {r.redeem_by.isoformat()}", field="coupon")
    if not r.code_active:
        raise Conflict("the promotion code is not active", field="promotion_code")
    if r.code_expires_at is not None and now >= r.code_expires_at:
        raise Conflict(f"the promotion code expired at {r.code_expires_at.isoformat()}", field="promotion_code")
    if r.first_time_only and has_invoices:
        raise Conflict("the promotion code is for a customer's first transaction only", field="promotion_code")
    if r.amount_off_currency is not None and r.amount_off_currency != currency:
        raise Conflict(
            f"the coupon takes an amount off in {r.amount_off_currency}; the plan bills in {currency}", field="coupon"
        )
    if r.plan_ids is not None and plan_id not in r.plan_ids:
        raise Conflict(f"the coupon does not apply to plan '{plan_id}'", field="coupon")
