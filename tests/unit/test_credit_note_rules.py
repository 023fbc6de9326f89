"""Properties of credit notes (shared.domain.credit_notes): over any invoice the totals
pipeline makes (discounts, inclusive and exclusive taxes, credit lines) and any sequence of
credit notes on it, each note's parts sum exactly to its total, nothing is credited or
reversed beyond what the invoice carried, and a full credit reverses exactly its discounts
and taxes, in every currency (the rules work on minor units, whatever their exponent)."""

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.credit_notes import (
    CreditNoteStatus,
    CreditNoteType,
    Invoice,
    InvoiceLine,
    LineRequest,
    Request,
    check_voidable,
    credited_of,
    decide,
    number_label,
)
from shared.domain.discounts import Discount
from shared.domain.errors import Conflict, DomainError, Invalid
from shared.domain.invoice_totals import totals_of
from shared.domain.invoices import InvoiceStatus
from shared.domain.money import PERCENT_SCALE
from shared.domain.taxes import TaxRate

rates = st.lists(
    st.builds(TaxRate, st.sampled_from(["txr_a", "txr_b"]), st.integers(0, 30 * PERCENT_SCALE), st.booleans()),
    max_size=2,
    unique_by=lambda r: r.id,
)
discounts = st.none() | st.builds(
    Discount,
    st.just("di_1"),
    st.just("co_1"),
    st.integers(1, 10_000).map(lambda p: p * 100),
    st.none(),
    st.none(),
)


def invoice_of(amounts: list[int], discount: Discount | None, tax_rates: list[TaxRate], status: InvoiceStatus):
    totals = totals_of(amounts, 0, currency="USD", discount=discount, tax_rates=tax_rates)
    lines = tuple(
        InvoiceLine(f"il_{i}", f"line {i}", amount, t.discount_amounts, t.tax_amounts)
        for i, (amount, t) in enumerate(zip(amounts, totals.lines))
    )
    paid = totals.amount_due if status is InvoiceStatus.PAID else 0
    return Invoice(status, totals.total, totals.amount_due, paid, lines), totals


requests = st.lists(
    st.one_of(
        st.tuples(st.just("amount"), st.integers(1, 10**6)),
        st.tuples(st.just("line"), st.tuples(st.integers(0, 3), st.integers(1, 10**6))),
        st.tuples(st.just("rest"), st.integers(0, 3)),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(-(10**5), 10**6), min_size=1, max_size=4),
    discounts,
    rates,
    st.sampled_from([InvoiceStatus.OPEN, InvoiceStatus.PAID]),
    requests,
)
def test_parts_sum_and_nothing_is_reversed_beyond_the_invoice(amounts, discount, tax_rates, status, asks) -> None:
    invoice, totals = invoice_of(amounts, discount, tax_rates, status)
    issued = []
    for kind, value in asks:
        if kind == "amount":
            request = Request(amount=value)
        elif kind == "line":
            request = Request(lines=(LineRequest(f"il_{value[0] % len(amounts)}", amount=value[1]),))
        else:
            request = Request(lines=(LineRequest(f"il_{value % len(amounts)}", quantity=1),))
        try:
            draft = decide(invoice, request)
        except DomainError:
            continue
        # The parts sum exactly to the total, and the total is what the lines credit.
        assert draft.pre_payment_amount + draft.post_payment_amount == draft.total > 0
        assert draft.total == sum(line.total for line in draft.lines)
        assert draft.total == draft.subtotal - draft.discount_amount + draft.tax - draft.inclusive_tax
        assert all(line.amount >= 0 and line.discount_amount >= 0 and line.tax >= 0 for line in draft.lines)
        assert draft.type is (
            CreditNoteType.PRE_PAYMENT if status is InvoiceStatus.OPEN else CreditNoteType.POST_PAYMENT
        )
        issued.extend((line.invoice_line, line) for line in draft.lines)
        credited = credited_of(issued)
        invoice = replace(
            invoice,
            amount_due=draft.amount_due_after,
            credited=invoice.credited + draft.total,
            lines=tuple(replace(line, credited=credited.get(line.id, line.credited)) for line in invoice.lines),
        )
    # Never more credited than invoiced, nor reversed than the invoice carried.
    assert invoice.credited <= max(totals.total, 0)
    assert invoice.amount_due >= 0
    for line in invoice.lines:
        c = line.credited
        if line.amount <= 0:  # a credit line is never credited
            assert c.amount == 0
            continue
        assert c.amount <= line.amount
        for d in line.discount_amounts:
            assert 0 <= c.discounts.get(d.discount, 0) <= d.amount
        for t in line.tax_amounts:
            assert 0 <= c.taxes.get(t.tax_rate, (0, 0))[0] <= t.amount
        if line.amount > 0 and c.amount == line.amount:  # a full credit reverses exactly
            assert c.net == line.net
            assert {d.discount: d.amount for d in line.discount_amounts if d.amount} == {
                k: v for k, v in c.discounts.items() if v
            }
            assert {t.tax_rate: t.amount for t in line.tax_amounts if t.amount} == {
                k: v[0] for k, v in c.taxes.items() if v[0]
            }


@pytest.mark.parametrize(
    ("amount", "vat", "off"),
    [
        # USD 100.00, 20% off (20.00), 19% VAT on 80.00 = 15.20: total 95.20
        (10000, 1520, 2000),
        # JPY 999, 20% off ¥199.8 -> ¥200, 19% on ¥799 = ¥151.81 -> ¥152: total ¥951
        (999, 152, 200),
        # KWD 19.999, 20% off 3.9998 -> 4.000, 19% on 15.999 = 3.03981 -> 3.040: total 19.039
        (19999, 3040, 4000),
    ],
)
def test_a_half_credit_then_the_rest_reverse_exactly_the_discount_and_tax(amount: int, vat: int, off: int) -> None:
    invoice, totals = invoice_of(
        [amount],
        Discount("di_1", "co_1", 20 * PERCENT_SCALE, None, None),
        [TaxRate("txr_vat", 19 * PERCENT_SCALE, False)],
        InvoiceStatus.OPEN,
    )
    assert (totals.total_discount, totals.tax, totals.total) == (off, vat, amount - off + vat)
    half = decide(invoice, Request(lines=(LineRequest("il_0", amount=amount // 2),)))
    [line] = half.lines
    # Half the line: half its discount and tax, rounded half-up on the cumulative share.
    assert line.discount_amount == (off * (amount // 2) * 2 + amount) // (2 * amount)
    rest_invoice = replace(
        invoice,
        credited=half.total,
        amount_due=half.amount_due_after,
        lines=(replace(invoice.lines[0], credited=credited_of([("il_0", line)])["il_0"]),),
    )
    rest = decide(rest_invoice, Request(lines=(LineRequest("il_0", quantity=1),)))
    assert half.discount_amount + rest.discount_amount == off
    assert half.tax + rest.tax == vat
    assert half.total + rest.total == totals.total
    assert rest.amount_due_after == 0 and rest.pays_invoice
    with pytest.raises(Conflict):  # nothing is left
        decide(replace(rest_invoice, credited=totals.total), Request(amount=1))


def test_refusals() -> None:
    invoice, totals = invoice_of([1000, -300], None, [], InvoiceStatus.PAID)
    with pytest.raises(Invalid):  # neither lines nor amount
        decide(invoice, Request())
    with pytest.raises(Invalid):  # a credit line
        decide(invoice, Request(lines=(LineRequest("il_1", amount=100),)))
    with pytest.raises(Conflict):  # more than the invoice's total (700), though the line has 1000
        decide(invoice, Request(lines=(LineRequest("il_0", amount=800),)))
    with pytest.raises(Invalid):  # the split does not add up
        decide(invoice, Request(amount=500, credit_amount=100, refund_amount=300))
    with pytest.raises(Conflict):  # more refunded than paid
        decide(replace(invoice, amount_paid=200), Request(amount=500, refund_amount=500))
    for status in (InvoiceStatus.VOID, InvoiceStatus.UNCOLLECTIBLE, InvoiceStatus.DRAFT):
        with pytest.raises(Conflict):
            decide(replace(invoice, status=status), Request(amount=100))
    with pytest.raises(Invalid):  # nothing was paid on an open invoice
        decide(replace(invoice, status=InvoiceStatus.OPEN, amount_paid=0), Request(amount=100, refund_amount=100))
    split = decide(invoice, Request(amount=500, credit_amount=200, refund_amount=250, out_of_band_amount=50))
    assert (split.credit_amount, split.refund_amount, split.out_of_band_amount, split.total) == (200, 250, 50, 500)


def test_void_rules() -> None:
    ok = dict(pre_payment_amount=0, credit_amount=500, refund_amount=0, invoice_status=InvoiceStatus.PAID, balance=-500)
    check_voidable(CreditNoteStatus.ISSUED, **ok)
    for change in (
        {"balance": -499},  # an invoice used some of the credit
        {"refund_amount": 1},
        {"pre_payment_amount": 100, "invoice_status": InvoiceStatus.PAID},
    ):
        with pytest.raises(Conflict):
            check_voidable(CreditNoteStatus.ISSUED, **{**ok, **change})
    with pytest.raises(Conflict):
        check_voidable(CreditNoteStatus.VOID, **ok)
    assert number_label(1) == "CN-000001"
