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
  This may come before later period ends, which are then never billed.

After all events up to `now`, a subscription with an unpaid invoice past its due
date is `past_due`.

`max_invoices` bounds one call's work (the engine's memory per batch): a subscription
stopped at its cap is left as of the last boundary it processed, still due, and the
next call continues from there; many capped calls equal one uncapped call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from shared.domain.invoice_totals import apply_balance
from shared.domain.periods import Cadence, Period
from shared.domain.subscriptions import BILLABLE, Lifecycle, SubscriptionStatus


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
    balance: int = 0,
    invoice_total: Callable[[int], int] | None = None,
) -> Outcome:
    """Play the subscription forward to `now`. `oldest_unpaid_due` is the due date of its
    oldest open invoice with something to pay; `pending_total` the sum of pending items;
    `balance` the customer's balance in the plan's currency (credit pays invoices);
    `max_invoices` (at least 1) stops the play after that many new invoices;
    `invoice_total(n)` is the total of the run's n-th invoice (discounts and taxes: see
    shared.domain.invoices.renewal_totals), by default the plan's amount plus, on the
    first, the pending items."""
    if max_invoices is not None and max_invoices < 1:
        raise ValueError("max_invoices must be at least 1")
    if state.status not in BILLABLE:
        return Outcome(state, unpaid_since=oldest_unpaid_due)
    grace = timedelta(days=terms.grace_days)
    invoices: list[NewInvoice] = []
    unpaid = oldest_unpaid_due
    reached = now  # the moment the resulting state is as of
    capped = False
    while True:
        deadline = unpaid + grace if unpaid is not None else None
        boundary = state.period_end
        if deadline is not None and deadline <= now and deadline <= boundary:
            ended = replace(state, status=SubscriptionStatus.CANCELED, ended_at=deadline, cancel_at_period_end=False)
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
        cycle = state.cycle + 1
        period = Period(boundary, terms.cadence.boundary(state.anchor, cycle))
        state = replace(
            state, status=SubscriptionStatus.ACTIVE, cycle=cycle, period_start=period.start, period_end=period.end
        )
        first = not invoices
        invoice = NewInvoice(period, boundary, boundary + timedelta(days=terms.days_until_due), first)
        invoices.append(invoice)
        total = invoice_total(len(invoices) - 1) if invoice_total else terms.amount + (pending_total if first else 0)
        due, balance = apply_balance(total, balance)
        if unpaid is None and due > 0:
            unpaid = invoice.due_at
    if unpaid is not None and unpaid < reached:
        state = replace(state, status=SubscriptionStatus.PAST_DUE)
    elif state.status is SubscriptionStatus.PAST_DUE:
        state = replace(state, status=SubscriptionStatus.ACTIVE)  # everything overdue has been paid
    return Outcome(state, invoices, unpaid_since=unpaid, capped=capped)
