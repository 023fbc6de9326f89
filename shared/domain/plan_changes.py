"""Changing a subscription's plan: which changes are allowed, the proration lines, and the
re-anchor rule. Pure: plain values in, the new lifecycle and its lines out."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from shared.domain.errors import Conflict, Invalid
from shared.domain.invoices import LineDraft
from shared.domain.periods import Cadence, Period
from shared.domain.proration import Proration, change_lines
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


def proration_lines(old: PlanTerms, new: PlanTerms, period: Period, at: datetime) -> list[LineDraft]:
    """By seconds left in the period: a credit for the old plan's unused part and a charge for
    the new plan's remainder, each rounded half-up once (lines sum exactly)."""
    if at >= period.end:
        return []
    credit, charge = change_lines(old.amount, new.amount, period, at)
    stamp = at.strftime("%Y-%m-%d %H:%M UTC")
    return [
        LineDraft(f"Unused time on {old.name} ({old.code}) after {stamp}", credit, at, period.end, old.id, True),
        LineDraft(f"Remaining time on {new.name} ({new.code}) after {stamp}", charge, at, period.end, new.id, True),
    ]


def change_plan(s: Lifecycle, old: PlanTerms, new: PlanTerms, now: datetime, proration: Proration) -> PlanChange:
    """Switch plans now (same currency only). A trial and `none` prorate nothing. A plan with
    another cadence starts it at the end of the current period: re-anchor there."""
    require(s.status, Action.CHANGE_PLAN)
    if new.id == old.id:
        raise Conflict("the subscription is already on this plan", field="plan_id")
    if not new.active:
        raise Conflict(f"plan '{new.id}' is archived and takes no new subscriptions", field="plan_id")
    if new.currency != old.currency:
        raise Invalid(
            f"a plan change keeps the currency ({old.currency}); '{new.id}' is {new.currency}", field="plan_id"
        )
    period = Period(s.period_start, s.period_end)
    prorated = s.status is not SubscriptionStatus.TRIALING and proration is not Proration.NONE
    lines = proration_lines(old, new, period, now) if prorated else []
    lifecycle = replace(s, anchor=s.period_end, cycle=0) if new.cadence != old.cadence else s
    return PlanChange(lifecycle, lines)
