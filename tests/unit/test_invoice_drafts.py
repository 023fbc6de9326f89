"""Invoice drafts: totals, amount due and initial status derived once; renewal drafts and the
upcoming-invoice preview come from the same function, with the same lines and dates."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.discounts import Discount
from shared.domain.errors import Conflict
from shared.domain.invoices import (
    Billed,
    BillingReason,
    InvoiceDraft,
    InvoiceStatus,
    LineDraft,
    PendingItem,
    final_invoice,
    issued_now,
    next_invoice,
    renewal_totals,
    upcoming_invoice,
)
from shared.domain.periods import Cadence, Interval, Period
from shared.domain.renewal import State, Terms, advance
from shared.domain.subscriptions import SubscriptionStatus as S
from shared.domain.taxes import TaxRate

START = datetime(2026, 1, 31, 10, tzinfo=UTC)
BILLED = Billed(
    customer_id="cus_1",
    subscription_id="sub_1",
    test_clock_id=None,
    plan_id="plan_1",
    plan_name="Pro",
    plan_code="pro-monthly",
    amount=1999,
    currency="EUR",
)
PERIOD = Period(START, START + timedelta(days=28))


def line(amount: int, proration: bool = True) -> LineDraft:
    return LineDraft(f"line {amount}", amount, PERIOD.start, PERIOD.end, "plan_1", proration)


def item(n: int, amount: int) -> PendingItem:
    return PendingItem(f"ii_{n}", line(amount))


def draft_of(*amounts: int) -> InvoiceDraft:
    return issued_now(
        BillingReason.SUBSCRIPTION_UPDATE,
        currency="EUR",
        customer_id="cus_1",
        subscription_id="sub_1",
        period=PERIOD,
        lines=[line(a) for a in amounts],
        now=START,
        days_until_due=7,
    )


def test_a_positive_total_is_open_and_due_in_full() -> None:
    draft = draft_of(1500, -500)
    assert (draft.total, draft.amount_due, draft.status, draft.amount_paid, draft.paid_at) == (
        1000,
        1000,
        InvoiceStatus.OPEN,
        0,
        None,
    )
    assert draft.due_at == START + timedelta(days=7)


@pytest.mark.parametrize("amounts", [(0,), (500, -500), (300, -1000)])
def test_nothing_to_collect_is_paid_on_the_spot(amounts: tuple[int, ...]) -> None:
    draft = draft_of(*amounts)
    assert draft.total == sum(amounts)
    assert (draft.amount_due, draft.status, draft.amount_paid, draft.paid_at) == (0, InvoiceStatus.PAID, 0, START)


def test_pending_items_follow_the_lines_and_are_absorbed() -> None:
    draft = issued_now(
        BillingReason.SUBSCRIPTION_CYCLE,
        currency="EUR",
        customer_id="cus_1",
        subscription_id="sub_1",
        period=PERIOD,
        lines=[line(1999, False)],
        now=START,
        days_until_due=0,
        pending=[item(1, -300), item(2, 700)],
        test_clock_id="clock_1",
    )
    assert [ln.amount for ln in draft.lines] == [1999, -300, 700]
    assert draft.item_ids == ("ii_1", "ii_2")
    assert (draft.total, draft.due_at, draft.test_clock_id) == (2399, START, "clock_1")


cadences = st.builds(Cadence, st.sampled_from(list(Interval)), st.integers(1, 3))


@given(cadences, st.integers(0, 30), st.integers(1, 2000), st.lists(st.integers(-5000, 5000), max_size=3))
def test_renewal_drafts_carry_advance_dates_and_pending_items_once(
    cadence: Cadence, due_days: int, days_later: int, pending_amounts: list[int]
) -> None:
    state = State(S.ACTIVE, START, 1, START, cadence.boundary(START, 1))
    terms = Terms(cadence, BILLED.amount, due_days, grace_days=10_000)
    outcome = advance(state, terms, START + timedelta(days=days_later))
    pending = [item(n, a) for n, a in enumerate(pending_amounts)]
    drafts = [next_invoice(BILLED, new, pending) for new in outcome.invoices]
    for n, (new, draft) in enumerate(zip(outcome.invoices, drafts)):
        assert (draft.period, draft.created_at, draft.due_at) == (new.period, new.created_at, new.due_at)
        assert draft.created_at == draft.period.start and draft.due_at == draft.period.start + timedelta(days=due_days)
        assert draft.lines[0] == LineDraft("Pro (pro-monthly)", 1999, new.period.start, new.period.end, "plan_1")
        carried = pending if n == 0 else []
        assert list(draft.lines[1:]) == [i.line for i in carried]
        assert draft.item_ids == tuple(i.id for i in carried)
        assert draft.reason is BillingReason.SUBSCRIPTION_CYCLE


@given(cadences, st.integers(0, 30), st.sampled_from([S.TRIALING, S.ACTIVE, S.PAST_DUE]), st.integers(0, 40))
def test_the_preview_is_the_first_draft_renewal_makes(cadence: Cadence, due_days: int, status: S, cycle: int) -> None:
    anchor = START
    state = State(
        status,
        anchor,
        cycle,
        cadence.boundary(anchor, cycle - 1) if cycle else anchor - timedelta(days=3),
        cadence.boundary(anchor, cycle),
    )
    terms = Terms(cadence, BILLED.amount, due_days)
    pending = [item(1, -250)]
    preview = upcoming_invoice(state, terms, BILLED, pending)
    renewal = advance(state, terms, state.period_end, oldest_unpaid_due=None)
    assert preview == next_invoice(BILLED, renewal.invoices[0], pending)
    assert preview.period == Period(state.period_end, cadence.boundary(anchor, cycle + 1))


@pytest.mark.parametrize(("status", "cancel_at_period_end"), [(S.PAUSED, False), (S.CANCELED, False), (S.ACTIVE, True)])
def test_a_subscription_that_will_not_renew_has_no_preview(status: S, cancel_at_period_end: bool) -> None:
    state = State(status, START, 1, START, START + timedelta(days=30), cancel_at_period_end)
    with pytest.raises(Conflict):
        upcoming_invoice(state, Terms(Cadence(Interval.MONTH), 1999), BILLED)


VAT = TaxRate("txr_vat", 190_000, False)  # 19% exclusive
TWENTY_OFF = Discount("di_1", "co_1", 200_000, None, None)  # 20% off, forever


def test_a_final_invoice_bills_the_last_usage_then_the_pending_items_priced_like_any_invoice() -> None:
    billed = replace(BILLED, discount=TWENTY_OFF, tax_rates=(VAT,))
    ended = START + timedelta(days=10)
    usage = [LineDraft("Calls (calls): 3", 999, START, ended, "plan_1")]
    final = final_invoice(billed, [item(1, -500)], ended, 7, usage)
    assert final is not None
    assert [(ln.amount, ln.proration) for ln in final.lines] == [(999, False), (-500, True)]
    assert final.item_ids == ("ii_1",)
    assert (final.period, final.created_at, final.due_at) == (
        Period(START, PERIOD.end),
        ended,
        ended + timedelta(days=7),
    )
    # 20% off each line half-up (200, -100), then 19% VAT on what is left (151.81, -76).
    assert [sum(d.amount for d in t.discount_amounts) for t in final.totals.lines] == [200, -100]
    assert [sum(t.amount for t in lt.tax_amounts) for lt in final.totals.lines] == [152, -76]
    assert (final.totals.subtotal, final.totals.total_discount, final.totals.tax, final.total) == (499, 100, 76, 475)
    assert final_invoice(billed, [], ended, 7) is None


@settings(max_examples=50, deadline=None)
@given(
    st.integers(0, 100_000),
    st.lists(st.integers(0, 50_000), max_size=3),
    st.lists(st.integers(-50_000, 50_000), max_size=2),
    st.sampled_from([None, TWENTY_OFF, Discount("di_2", "co_2", None, 750, "EUR", None, 1)]),
    st.sampled_from([(), (VAT,), (TaxRate("txr_in", 77_000, True), VAT)]),
)
def test_the_totals_advance_sees_are_the_renewal_invoices_usage_included(
    amount: int, usage: list[int], pending: list[int], discount: Discount | None, rates: tuple[TaxRate, ...]
) -> None:
    """What `advance` is told an invoice comes to (to know whether the balance pays it) is
    the total of the invoice renewal drafts, with its usage lines."""
    billed = replace(BILLED, amount=amount, discount=discount, tax_rates=rates)
    items = [item(n, a) for n, a in enumerate(pending)]
    lines = [LineDraft(f"usage {a}", a, PERIOD.start, PERIOD.end, "plan_1") for a in usage]
    outcome = advance(
        State(S.ACTIVE, START, 0, START, PERIOD.end), Terms(Cadence(Interval.MONTH, 1), amount), PERIOD.end
    )
    [new] = outcome.invoices
    draft = next_invoice(billed, new, items, lines)
    assert renewal_totals(billed, items, [lines])(0) == draft.total
    later = replace(new, includes_pending=False)
    used = replace(billed, discount=discount.after_new_period() if discount is not None else None)
    assert renewal_totals(billed, items, [[], lines])(1) == next_invoice(used, later, items, lines).total
