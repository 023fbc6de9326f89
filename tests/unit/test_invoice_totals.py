"""Properties of the customer-balance rule (shared.domain.invoice_totals) and of drafts
applying balances in order (shared.domain.invoices.with_balances)."""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.invoice_totals import BalanceTransactionType, apply_balance, totals_of
from shared.domain.invoices import BillingReason, InvoiceDraft, InvoiceStatus, LineDraft, with_balances
from shared.domain.periods import Period

START = datetime(2026, 4, 1, tzinfo=UTC)
PERIOD = Period(START, START + timedelta(days=30))
amounts = st.integers(-(10**9), 10**9)


def draft(customer: str, currency: str, amounts: list[int]) -> InvoiceDraft:
    lines = tuple(LineDraft(f"line {i}", a, PERIOD.start, PERIOD.end) for i, a in enumerate(amounts))
    return InvoiceDraft(BillingReason.SUBSCRIPTION_CYCLE, currency, customer, "sub_1", PERIOD, START, START, lines)


def test_stripe_examples() -> None:
    assert apply_balance(1000, -1333) == (0, -333)  # credit covers the invoice, the rest stays
    assert apply_balance(1000, -333) == (667, 0)
    assert apply_balance(-1333, 0) == (0, -1333)  # a negative total is credit, not lost
    assert apply_balance(1000, 500) == (1500, 0)  # a debit balance is collected
    assert totals_of([]).balance_change == 0
    assert totals_of([-1333]).balance_type is BalanceTransactionType.PRORATION_CREDIT
    assert totals_of([1000], -1333).balance_type is BalanceTransactionType.INVOICE_APPLIED


@settings(max_examples=300, deadline=None)
@given(st.lists(amounts, max_size=5), amounts)
def test_nothing_is_lost_or_created(lines: list[int], starting: int) -> None:
    t = totals_of(lines, starting)
    assert t.subtotal == t.total == sum(lines)
    assert t.amount_due >= 0 and t.ending_balance <= 0
    # What the customer owed or was owed before, plus the invoice, is what is due now or left after.
    assert t.total + t.starting_balance == t.amount_due + t.ending_balance
    assert t.balance_change == t.ending_balance - starting


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["cus_a", "cus_b"]), st.sampled_from(["USD", "JPY"]), amounts), max_size=8),
    st.dictionaries(st.tuples(st.sampled_from(["cus_a", "cus_b"]), st.sampled_from(["USD", "JPY"])), amounts),
)
def test_drafts_apply_balances_in_order_and_the_ledger_sums(
    invoices: list[tuple[str, str, int]], balances: dict[tuple[str, str], int]
) -> None:
    drafts = [draft(customer, currency, [amount]) for customer, currency, amount in invoices]
    applied, after = with_balances(drafts, balances)
    for key in set(balances) | set(after):
        changes = sum(d.totals.balance_change for d in applied if (d.customer_id, d.currency) == key)
        assert after.get(key, 0) == balances.get(key, 0) + changes
    for d in applied:
        assert d.status is (InvoiceStatus.PAID if d.amount_due == 0 else InvoiceStatus.OPEN)
