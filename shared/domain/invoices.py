"""Invoices before they are stored: states and their legal transitions, line arithmetic,
and the drafts every invoice is written from (shared.db.invoice_writer writes them).

A draft decides everything about an invoice except its id and number: lines, totals, the
amount due, whether it starts paid, its dates. `next_invoice` drafts a renewal invoice,
for the renewal engine and the upcoming-invoice preview alike, so the two cannot drift.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from copy import copy
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from shared.domain.discounts import Discount
from shared.domain.errors import Conflict, Invalid
from shared.domain.invoice_totals import Totals, apply_balance, totals_of
from shared.domain.money import MAX_AMOUNT
from shared.domain.periods import Period
from shared.domain.proration import BilledItem, unused_billed
from shared.domain.renewal import NewInvoice, State, Terms, advance
from shared.domain.subscriptions import SubscriptionStatus, has_upcoming_invoice
from shared.domain.taxes import TaxExempt, TaxRate


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    VOID = "void"
    UNCOLLECTIBLE = "uncollectible"


class BillingReason(StrEnum):
    SUBSCRIPTION_CREATE = "subscription_create"
    SUBSCRIPTION_CYCLE = "subscription_cycle"
    SUBSCRIPTION_UPDATE = "subscription_update"


# Cycle invoices are the ones the database holds to one per (subscription, period_start).
CYCLE_REASONS = (BillingReason.SUBSCRIPTION_CREATE, BillingReason.SUBSCRIPTION_CYCLE)

# Stripe's state machine: paid and void are final; an uncollectible invoice may still be
# paid (the customer paid late) or voided (written off for good).
_ALLOWED: dict[InvoiceStatus, frozenset[InvoiceStatus]] = {
    InvoiceStatus.DRAFT: frozenset({InvoiceStatus.OPEN, InvoiceStatus.VOID}),
    InvoiceStatus.OPEN: frozenset({InvoiceStatus.PAID, InvoiceStatus.VOID, InvoiceStatus.UNCOLLECTIBLE}),
    InvoiceStatus.UNCOLLECTIBLE: frozenset({InvoiceStatus.PAID, InvoiceStatus.VOID}),
    InvoiceStatus.PAID: frozenset(),
    InvoiceStatus.VOID: frozenset(),
}


def check_transition(current: InvoiceStatus, target: InvoiceStatus) -> None:
    if target not in _ALLOWED[current]:
        raise Conflict(f"an invoice that is {current} cannot become {target}", field="status")


@dataclass(frozen=True)
class LineDraft:
    """One invoice line before it is stored. `amount` is already rounded (minor units)."""

    description: str
    amount: int
    period_start: datetime
    period_end: datetime
    plan_id: str | None = None
    proration: bool = False


def plan_description(plan_name: str, plan_code: str) -> str:
    """How a plan's charge reads on an invoice line, e.g. "Pro (pro-monthly)"."""
    return f"{plan_name} ({plan_code})"


def total_of(lines: Sequence[LineDraft]) -> int:
    """The invoice total is the sum of its lines: lines are rounded, the total never is."""
    return totals_of(line.amount for line in lines).total


def amount_due(total: int) -> int:
    """What an invoice of `total` asks for from a customer without balance: a negative total
    is credited to the customer's balance (shared.domain.invoice_totals), not due."""
    return apply_balance(total, 0)[0]


def require_in_range(amounts: Sequence[int], invoice: str, *, field: str | None = None) -> None:
    """Refuse (422) an invoice the database could not hold: every line and the total must lie
    within +-MAX_AMOUNT minor units (the range CHECKs). Checked where such an invoice would
    be caused (a plan change, a resume), so renewal never meets one."""
    total = sum(amounts)
    if any(abs(amount) > MAX_AMOUNT for amount in amounts) or abs(total) > MAX_AMOUNT:
        raise Invalid(
            f"{invoice} would come to {total} minor units (lines {list(amounts)}); an invoice and each of "
            f"its lines must stay within -{MAX_AMOUNT} and {MAX_AMOUNT}",
            field=field,
        )


@dataclass(frozen=True)
class PendingItem:
    """A pending invoice item (e.g. a proration): its line joins the next invoice."""

    id: str
    line: LineDraft
    created_at: datetime | None = None  # when the request that made it ran


@dataclass(frozen=True)
class InvoiceDraft:
    """A finalized invoice before it is stored. Total, amount due and the initial status
    are derived here, once, for every writer and preview."""

    reason: BillingReason
    currency: str
    customer_id: str
    subscription_id: str | None
    period: Period
    created_at: datetime  # also when it is finalized (invoices are issued final)
    due_at: datetime
    lines: tuple[LineDraft, ...]
    item_ids: tuple[str, ...] = ()  # pending items this invoice absorbs
    test_clock_id: str | None = None  # set: simulated, numbered in the clock's own sequence
    # The customer's balance in this currency before the invoice (negative: credit); the
    # writer's caller sets it under the balance row's lock (`with_balances`).
    starting_balance: int = 0
    # The subscription's discount and the tax rates that apply (shared.domain.invoice_totals).
    discount: Discount | None = None
    tax_rates: tuple[TaxRate, ...] = ()
    tax_exempt: TaxExempt = TaxExempt.NONE

    # Derived from the lines once, when drafted (a renewal batch reads them for thousands).
    totals: Totals = field(init=False, compare=False)
    status: InvoiceStatus = field(init=False, compare=False)  # nothing to collect: paid on the spot

    def __post_init__(self) -> None:
        totals = totals_of(
            (line.amount for line in self.lines),
            self.starting_balance,
            plan_ids=[line.plan_id for line in self.lines],
            currency=self.currency,
            discount=self.discount,
            tax_rates=self.tax_rates,
            tax_exempt=self.tax_exempt,
        )
        # A frozen dataclass sets its own fields this way; nothing else ever changes them.
        object.__setattr__(self, "totals", totals)
        object.__setattr__(self, "status", InvoiceStatus.PAID if totals.amount_due == 0 else InvoiceStatus.OPEN)

    def with_starting_balance(self, balance: int) -> InvoiceDraft:
        """This draft applying the customer's `balance` (its lines, discounts and taxes are
        not computed again)."""
        draft = copy(self)
        totals = self.totals.with_balance(balance)
        object.__setattr__(draft, "starting_balance", balance)
        object.__setattr__(draft, "totals", totals)
        object.__setattr__(draft, "status", InvoiceStatus.PAID if totals.amount_due == 0 else InvoiceStatus.OPEN)
        return draft

    @property
    def total(self) -> int:
        return self.totals.total

    @property
    def amount_due(self) -> int:
        return self.totals.amount_due

    @property
    def ending_balance(self) -> int:
        return self.totals.ending_balance

    @property
    def in_range(self) -> bool:
        """Whether the database can store it: every line and the total within the money
        range (a renewal skips and reports a subscription whose invoice is not)."""
        return abs(self.total) <= MAX_AMOUNT and all(abs(line.amount) <= MAX_AMOUNT for line in self.lines)

    @property
    def amount_paid(self) -> int:
        return self.amount_due if self.status is InvoiceStatus.PAID else 0

    @property
    def paid_at(self) -> datetime | None:
        return self.created_at if self.status is InvoiceStatus.PAID else None


BalanceKey = tuple[str, str]  # (customer id, currency): one balance of one customer


def with_balances(
    drafts: Sequence[InvoiceDraft], balances: Mapping[BalanceKey, int]
) -> tuple[list[InvoiceDraft], dict[BalanceKey, int]]:
    """The drafts, in order, each applying its customer's balance as the ones before it left
    it; and the balances after all of them."""
    after = dict(balances)
    applied = []
    for draft in drafts:
        key = (draft.customer_id, draft.currency)
        draft = draft.with_starting_balance(after.get(key, 0))
        after[key] = draft.ending_balance
        applied.append(draft)
    return applied, after


def issued_now(
    reason: BillingReason,
    *,
    currency: str,
    customer_id: str,
    subscription_id: str | None,
    period: Period,
    lines: Sequence[LineDraft],
    now: datetime,
    days_until_due: int,
    pending: Sequence[PendingItem] = (),
    test_clock_id: str | None = None,
    discount: Discount | None = None,
    tax_rates: Sequence[TaxRate] = (),
    tax_exempt: TaxExempt = TaxExempt.NONE,
) -> InvoiceDraft:
    """An invoice a request issues at `now` (subscription start, resume, prorations billed
    at once): due the tenant's `days_until_due` later; pending items' lines come last."""
    return InvoiceDraft(
        reason=reason,
        currency=currency,
        customer_id=customer_id,
        subscription_id=subscription_id,
        period=period,
        created_at=now,
        due_at=now + timedelta(days=days_until_due),
        lines=(*lines, *(item.line for item in pending)),
        item_ids=tuple(item.id for item in pending),
        test_clock_id=test_clock_id,
        discount=discount,
        tax_rates=tuple(tax_rates),
        tax_exempt=tax_exempt,
    )


@dataclass(frozen=True)
class Billed:
    """Who a subscription's renewal invoices bill, and for which plan."""

    customer_id: str
    subscription_id: str
    test_clock_id: str | None
    plan_id: str
    plan_name: str
    plan_code: str
    amount: int  # the plan's price per period, minor units
    currency: str
    discount: Discount | None = None
    tax_rates: tuple[TaxRate, ...] = ()
    tax_exempt: TaxExempt = TaxExempt.NONE


def plan_line(billed: Billed, period: Period) -> LineDraft:
    return LineDraft(
        plan_description(billed.plan_name, billed.plan_code), billed.amount, period.start, period.end, billed.plan_id
    )


def next_invoice(
    billed: Billed, new: NewInvoice, pending: Sequence[PendingItem] = (), usage: Sequence[LineDraft] = ()
) -> InvoiceDraft:
    """The renewal invoice for a period `advance` decided to bill: the plan's line (the new
    period, in advance), the usage lines of the period that just ended (in arrears), then the
    pending items' lines if this is the run's first invoice, dated as `advance` dated it."""
    carried = pending if new.includes_pending else ()
    return InvoiceDraft(
        reason=BillingReason.SUBSCRIPTION_CYCLE,
        currency=billed.currency,
        customer_id=billed.customer_id,
        subscription_id=billed.subscription_id,
        period=new.period,
        created_at=new.created_at,
        due_at=new.due_at,
        lines=(plan_line(billed, new.period), *usage, *(item.line for item in carried)),
        item_ids=tuple(item.id for item in carried),
        test_clock_id=billed.test_clock_id,
        discount=running(billed.discount),
        tax_rates=billed.tax_rates,
        tax_exempt=billed.tax_exempt,
    )


def running(discount: Discount | None) -> Discount | None:
    """The discount an invoice applies: the subscription's while it lasts."""
    return discount if discount is not None and discount.active else None


def resume_credit(
    charge: int,
    plan_id: str | None,
    pending: Sequence[PendingItem],
    billed: Sequence[BilledItem],
    paused: Period,
    now: datetime,
) -> list[LineDraft]:
    """The credit line a resume invoice carries after its plan line (`charge`, the new
    period's): the unused remainder of what was billed for the paused period, from `now` to
    its end (`billed`: its cycle line and proration items, pending or invoiced). Never
    capped: beyond the invoice's charges it turns the invoice's total negative, and that
    goes to the customer's balance (a `proration_credit`, shared.domain.invoice_totals) like
    any negative total. No line when nothing is left to credit. 422 if the invoice would be
    out of range."""
    credit = unused_billed(billed, now, paused.end) if now < paused.end else 0
    lines = []
    if credit > 0:
        stamp = now.strftime("%Y-%m-%d %H:%M UTC")
        lines.append(
            LineDraft(f"Unused time of the paused period after {stamp}", -credit, now, paused.end, plan_id, True)
        )
    require_in_range(
        [charge, *(line.amount for line in lines), *(i.line.amount for i in pending)], "the resume invoice"
    )
    return lines


def pending_period(pending: Sequence[PendingItem]) -> Period:
    """The span a final invoice of pending items covers: from the earliest item's start to
    the latest item's end."""
    return span([item.line for item in pending])


def span(lines: Sequence[LineDraft]) -> Period:
    """The period an invoice of `lines` covers: from the earliest line's start to the latest
    line's end (at least a second)."""
    start = min(line.period_start for line in lines)
    end = max(line.period_end for line in lines)
    return Period(start, max(end, start + timedelta(seconds=1)))


def spanning(periods: Sequence[Period | None]) -> Period | None:
    """The span of one invoice billing several things at once (usage in arrears, prorations,
    pending items): from the earliest start to the latest end of `periods` (None ones are
    nothing billed). None: nothing to bill."""
    given = [period for period in periods if period is not None]
    if not given:
        return None
    return Period(min(period.start for period in given), max(period.end for period in given))


def final_invoice(
    billed: Billed,
    pending: Sequence[PendingItem],
    ended_at: datetime,
    days_until_due: int,
    usage: Sequence[LineDraft] = (),
) -> InvoiceDraft | None:
    """What a subscription that ends (at period end or by dunning) still owes goes on one
    final invoice dated at the end (Stripe's reason for proration invoices,
    `subscription_update`): the usage of its last period in arrears (`usage`, its lines:
    the caller passes them when anything was used), then the pending prorations no invoice
    absorbed, which are never lost. Priced like every invoice: the subscription's discount
    while it lasts (an invoice within a period uses up none of it), its tax rates. None
    when there is nothing to bill."""
    if not pending and not usage:
        return None
    lines = (*usage, *(item.line for item in pending))
    return issued_now(
        BillingReason.SUBSCRIPTION_UPDATE,
        currency=billed.currency,
        customer_id=billed.customer_id,
        subscription_id=billed.subscription_id,
        period=span(lines),
        lines=usage,
        now=ended_at,
        days_until_due=days_until_due,
        pending=pending,
        test_clock_id=billed.test_clock_id,
        discount=running(billed.discount),
        tax_rates=billed.tax_rates,
        tax_exempt=billed.tax_exempt,
    )


def usage_period(
    status: SubscriptionStatus, period: Period, billed_until: datetime | None, index: int, previous: Period | None
) -> Period | None:
    """The usage period the `index`-th invoice of a renewal run bills in arrears: the first
    bills the period that was current (from where a cancel or plan change last billed it),
    each later one the period of the invoice before it. Usage during a trial is free."""
    if index == 0:
        if status is SubscriptionStatus.TRIALING:
            return None
        start = period.start if billed_until is None else max(period.start, billed_until)
        return Period(start, period.end) if start < period.end else None
    return previous


def next_invoices(
    billed: Billed, news: Sequence[NewInvoice], pending: Sequence[PendingItem] = ()
) -> tuple[list[InvoiceDraft], Discount | None]:
    """The renewal invoices for the periods `advance` decided to bill, in order, each using
    up one period of the subscription's discount; and the discount they leave."""
    drafts = []
    for new in news:
        drafts.append(next_invoice(billed, new, pending))
        if billed.discount is not None:
            billed = replace(billed, discount=billed.discount.after_new_period())
    return drafts, billed.discount


def renewal_totals(
    billed: Billed, pending: Sequence[PendingItem] = (), usage: Sequence[Sequence[LineDraft]] = ()
) -> Callable[[int], int]:
    """The total of a renewal run's n-th invoice (before the balance), as `next_invoice`
    drafts it (`usage[n]`: its usage lines, if known): for `advance` to know which invoices
    the balance pays."""

    def total(n: int) -> int:
        discount = billed.discount
        for _ in range(n):
            discount = discount.after_new_period() if discount is not None else None
        lines = [*(usage[n] if n < len(usage) else ()), *(item.line for item in (pending if n == 0 else ()))]
        return totals_of(
            [billed.amount, *(line.amount for line in lines)],
            plan_ids=[billed.plan_id, *(line.plan_id for line in lines)],
            currency=billed.currency,
            discount=running(discount),
            tax_rates=billed.tax_rates,
            tax_exempt=billed.tax_exempt,
        ).total

    return total


def upcoming_invoice(
    state: State,
    terms: Terms,
    billed: Billed,
    pending: Sequence[PendingItem] = (),
    usage: Sequence[LineDraft] = (),
    balance: int = 0,
) -> InvoiceDraft:
    """The invoice the next renewal writes: `advance` played to the end of the current
    period, as the renewal engine plays it (a preview cannot foresee payments, so no
    dunning), with the usage lines so far, applying the customer's current `balance` in the
    plan's currency. 409 for a subscription that will not renew."""
    has_upcoming_invoice(state.status, state.cancel_at_period_end)
    totals = renewal_totals(billed, pending, [usage])
    outcome = advance(state, terms, state.period_end, max_invoices=1, invoice_total=totals)
    return next_invoice(billed, outcome.invoices[0], pending, usage).with_starting_balance(balance)
