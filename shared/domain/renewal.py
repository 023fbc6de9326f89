"""What happens to one subscription between its last state and `now`, in time order.

A pure function, so the rules are testable without a database: the batch engine
(shared/renewal) loads many subscriptions, runs `advance` on each, and writes the
outcomes in bulk. Events, in order of their time:

- a period ends: with a pending cancel the subscription ends there; a trial turns
  active; otherwise the next period starts. Either of the latter issues an invoice
  for the new period, dated at its start (so a catch-up after downtime bills every
  missed period once, contiguous, as it would have been billed on time);
- an unpaid invoice's grace period runs out (due date + the tenant's grace days):
  the subscription is canceled then and its open invoices become uncollectible.
  This may come before later period ends, which are then never billed. The cancel is
  never dated before `not_before`, the last thing a request did to the subscription (a
  resume after a pause, a plan change, an invoice it issued): dunning waits while a
  subscription is paused, and one whose grace ran out meanwhile ends at its resume;
- when the subscription ends (pending cancel or dunning), pending prorations that no
  invoice of this play absorbed go on a final invoice dated at the end
  (shared.domain.invoices.final_invoice).

After all events up to `now`, the status is `status_for` the overdue check (one boundary
for every path: `is_overdue`, `grace_expired` in shared.domain.subscriptions).

`max_invoices` bounds one call's work (the engine's memory per batch): a subscription
stopped at its cap is left as of the last boundary it processed, still due, and the
next call continues from there; many capped calls equal one uncapped call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from shared.domain.invoice_totals import apply_balance
from shared.domain.periods import Cadence, Period, next_period
from shared.domain.subscriptions import (
    BILLABLE,
    Lifecycle,
    SubscriptionStatus,
    grace_deadline,
    grace_expired,
    is_overdue,
    status_for,
)


@dataclass(frozen=True)
class State:
    status: SubscriptionStatus
    anchor: datetime
    cycle: int
    period_start: datetime
    period_end: datetime
    cancel_at_period_end: bool = False
    ended_at: datetime | None = None


def state_of(lifecycle: Lifecycle) -> State:
    """The part of a subscription's lifecycle that renewal plays forward."""
    return State(
        status=lifecycle.status,
        anchor=lifecycle.anchor,
        cycle=lifecycle.cycle,
        period_start=lifecycle.period_start,
        period_end=lifecycle.period_end,
        cancel_at_period_end=lifecycle.cancel_at_period_end,
        ended_at=lifecycle.ended_at,
    )


@dataclass(frozen=True)
class Terms:
    cadence: Cadence
    amount: int  # the plan's price per period, minor units
    days_until_due: int = 30  # the tenants table's default
    grace_days: int = 30


@dataclass(frozen=True)
class NewInvoice:
    period: Period
    created_at: datetime
    due_at: datetime
    includes_pending: bool  # the first invoice of a run also carries pending proration items


@dataclass(frozen=True)
class Outcome:
    state: State
    invoices: list[NewInvoice] = field(default_factory=list)
    ended: bool = False  # ended in this run (pending cancel or dunning)
    dunned: bool = False  # ended because an invoice stayed unpaid past the grace period
    unpaid_since: datetime | None = None  # due date of the oldest unpaid invoice, if any
    capped: bool = False  # stopped at max_invoices with periods still due before `now`


def advance(
    state: State,
    terms: Terms,
    now: datetime,
    *,
    oldest_unpaid_due: datetime | None = None,
    pending_total: int = 0,
    max_invoices: int | None = None,
    not_before: datetime | None = None,
    balance: int = 0,
    invoice_total: Callable[[int], int] | None = None,
) -> Outcome:
    """Play the subscription forward to `now`. `oldest_unpaid_due` is the due date of its
    oldest open invoice with something to pay; `pending_total` the sum of pending items;
    `balance` the customer's balance in the plan's currency (credit pays invoices);
    `max_invoices` (at least 1) stops the play after that many new invoices;
    `invoice_total(n)` is the total of the run's n-th invoice (discounts and taxes: see
    shared.domain.invoices.renewal_totals), by default the plan's amount plus, on the
    first, the pending items; `not_before` the latest moment a request acted on it (a
    dunning cancel is never dated earlier)."""
    if max_invoices is not None and max_invoices < 1:
        raise ValueError("max_invoices must be at least 1")
    if state.status not in BILLABLE:
        return Outcome(state, unpaid_since=oldest_unpaid_due)
    invoices: list[NewInvoice] = []
    unpaid = oldest_unpaid_due
    reached = now  # the moment the resulting state is as of
    capped = False
    while True:
        boundary = state.period_end
        if (
            unpaid is not None
            and grace_expired(unpaid, terms.grace_days, now)
            and grace_deadline(unpaid, terms.grace_days) <= boundary
        ):
            at = grace_deadline(unpaid, terms.grace_days)
            at = max(at, not_before) if not_before is not None else at
            ended = replace(state, status=SubscriptionStatus.CANCELED, ended_at=at, cancel_at_period_end=False)
            return Outcome(ended, invoices, ended=True, dunned=True, unpaid_since=unpaid)
        if boundary > now:
            break
        if state.cancel_at_period_end:
            ended = replace(state, status=SubscriptionStatus.CANCELED, ended_at=boundary, cancel_at_period_end=False)
            return Outcome(ended, invoices, ended=True, unpaid_since=unpaid)
        if max_invoices is not None and len(invoices) >= max_invoices:
            # Stop before this boundary: the state is as of the last one processed.
            reached, capped = state.period_start, True
            break
        anchor, cycle, period = next_period(
            terms.cadence, state.anchor, state.cycle, Period(state.period_start, boundary)
        )
        state = replace(
            state,
            status=SubscriptionStatus.ACTIVE,
            anchor=anchor,
            cycle=cycle,
            period_start=period.start,
            period_end=period.end,
        )
        first = not invoices
        invoice = NewInvoice(period, boundary, boundary + timedelta(days=terms.days_until_due), first)
        invoices.append(invoice)
        total = invoice_total(len(invoices) - 1) if invoice_total else terms.amount + (pending_total if first else 0)
        due, balance = apply_balance(total, balance)
        if unpaid is None and due > 0:
            unpaid = invoice.due_at
    state = replace(state, status=status_for(state.status, overdue=unpaid is not None and is_overdue(unpaid, reached)))
    return Outcome(state, invoices, unpaid_since=unpaid, capped=capped)
