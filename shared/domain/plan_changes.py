"""Changing a subscription's plan: which changes are allowed and the proration lines. Pure:
plain values in, the new lifecycle and its lines out.

The subscription keeps its current period (and anchor) whatever the new plan's interval:
the rest of the period is credited at what was billed for it and charged at the new plan's
own rate (shared.domain.proration), and the new cadence starts at the period's end, where
renewal re-anchors if the plan's cadence then differs from the period's
(shared.domain.periods.next_period). A change that would produce an invoice the database
cannot hold (now, or the next renewal with the pending items) is refused with 422."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from shared.domain.errors import Conflict, Invalid
from shared.domain.invoices import LineDraft, require_in_range
from shared.domain.periods import Cadence, Period
from shared.domain.proration import BilledItem, Proration, charge_at_own_rate, unused_billed
from shared.domain.subscriptions import Action, Lifecycle, SubscriptionStatus, require


@dataclass(frozen=True)
class PlanTerms:
    """What a plan change needs to know of a plan."""

    id: str
    name: str
    code: str
    amount: int
    currency: str
    cadence: Cadence
    active: bool = True


@dataclass(frozen=True)
class PlanChange:
    lifecycle: Lifecycle
    lines: list[LineDraft]  # proration lines (credit, charge), empty when nothing is prorated


def proration_lines(
    s: Lifecycle, old: PlanTerms, new: PlanTerms, at: datetime, billed: Sequence[BilledItem]
) -> list[LineDraft]:
    """For the rest of the current period after `at`: a credit for the unused remainder of
    what was billed for it (`billed`: its cycle line and proration items) and a charge for
    the new plan at its own rate, each rounded half-up once (lines sum exactly)."""
    period = Period(s.period_start, s.period_end)
    if at >= period.end:
        return []
    credit = -unused_billed(billed, at, period.end)
    charge = charge_at_own_rate(new.amount, new.cadence, s.anchor, s.cycle, period, at)
    stamp = at.strftime("%Y-%m-%d %H:%M UTC")
    return [
        LineDraft(f"Unused time on {old.name} ({old.code}) after {stamp}", credit, at, period.end, old.id, True),
        LineDraft(f"Remaining time on {new.name} ({new.code}) after {stamp}", charge, at, period.end, new.id, True),
    ]


def change_plan(
    s: Lifecycle,
    old: PlanTerms,
    new: PlanTerms,
    now: datetime,
    proration: Proration,
    billed: Sequence[BilledItem] = (),
    pending: Sequence[int] = (),
) -> PlanChange:
    """Switch plans now (same currency only). A trial and `none` prorate nothing. `billed`:
    what was billed for the rest of the current period; `pending`: the amounts of the items
    already waiting for the next renewal invoice."""
    require(s.status, Action.CHANGE_PLAN)
    if new.id == old.id:
        raise Conflict("the subscription is already on this plan", field="plan_id")
    if not new.active:
        raise Conflict(f"plan '{new.id}' is archived and takes no new subscriptions", field="plan_id")
    if new.currency != old.currency:
        raise Invalid(
            f"a plan change keeps the currency ({old.currency}); '{new.id}' is {new.currency}", field="plan_id"
        )
    prorated = s.status is not SubscriptionStatus.TRIALING and proration is not Proration.NONE
    lines = proration_lines(s, old, new, now, billed) if prorated else []
    amounts = [line.amount for line in lines]
    if proration is Proration.ALWAYS_INVOICE and lines:
        require_in_range(amounts, "the proration invoice of this change", field="plan_id")
    carried = amounts if proration is Proration.CREATE_PRORATIONS else []
    require_in_range(
        [new.amount, *pending, *carried], "the next renewal invoice (the new plan with pending items)", field="plan_id"
    )
    return PlanChange(s, lines)
