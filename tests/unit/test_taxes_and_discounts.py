"""Properties of the totals pipeline (shared.domain.invoice_totals): lines -> discounts ->
taxes -> balance. Nothing is lost or created by rounding: each discount and tax is rounded
once per line (and rate), and every sum is exact."""

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.discounts import Discount, line_discounts, spread
from shared.domain.invoice_totals import totals_of
from shared.domain.money import PERCENT_SCALE
from shared.domain.taxes import TaxExempt, TaxRate, line_taxes

amounts = st.integers(-(10**9), 10**9)
rates = st.lists(
    st.builds(
        TaxRate,
        st.sampled_from(["txr_a", "txr_b", "txr_c"]),
        st.integers(0, 100 * PERCENT_SCALE),
        st.booleans(),
    ),
    max_size=3,
    unique_by=lambda r: r.id,
)
discounts = (
    st.none()
    | st.builds(
        Discount,
        st.just("di_1"),
        st.just("co_1"),
        st.none(),
        st.integers(1, 10**7),
        st.just("USD"),
        st.sampled_from([None, frozenset({"plan_a"})]),
        st.sampled_from([None, 0, 1, 3]),
    )
    | st.builds(
        Discount,
        st.just("di_1"),
        st.just("co_1"),
        st.integers(1, 10_000).map(lambda p: p * 100),  # up to 2 decimals
        st.none(),
        st.none(),
        st.sampled_from([None, frozenset({"plan_a"})]),
        st.sampled_from([None, 0, 1]),
    )
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(amounts, st.sampled_from([None, "plan_a", "plan_b"])), max_size=5),
    discounts,
    rates,
    st.sampled_from(list(TaxExempt)),
    amounts,
)
def test_the_invariants_hold(
    lines: list[tuple[int, str | None]],
    discount: Discount | None,
    tax_rates: list[TaxRate],
    exempt: TaxExempt,
    start: int,
) -> None:
    t = totals_of(
        [a for a, _ in lines],
        start,
        plan_ids=[p for _, p in lines],
        currency="USD",
        discount=discount,
        tax_rates=tax_rates,
        tax_exempt=exempt,
    )
    assert t.subtotal == sum(a for a, _ in lines)
    assert len(t.lines) == len(lines)
    assert t.total_discount == sum(d.amount for line in t.lines for d in line.discount_amounts)
    assert t.total_discount == sum(d.amount for d in t.total_discount_amounts)
    inclusive = sum(x.amount for line in t.lines for x in line.tax_amounts if x.inclusive)
    exclusive = sum(x.amount for line in t.lines for x in line.tax_amounts if not x.inclusive)
    assert (t.tax, t.inclusive_tax) == (inclusive + exclusive, inclusive)
    assert t.total == t.subtotal - t.total_discount + exclusive  # the database CHECK, too
    assert t.total_excluding_tax + t.tax == t.total
    assert sum(x.amount for x in t.total_tax_amounts) == t.tax
    if exempt is not TaxExempt.NONE or not tax_rates:
        assert t.tax == 0 and t.total_tax_amounts == ()
    if discount is not None and discount.amount_off is not None:
        assert 0 <= t.total_discount <= discount.amount_off
    if discount is None or not discount.active:
        assert t.total_discount == 0
    assert t.total + t.starting_balance == t.amount_due + t.ending_balance and t.amount_due >= 0


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10**9), st.lists(st.integers(0, 10**9), max_size=6))
def test_largest_remainder_spreads_exactly(total: int, weights: list[int]) -> None:
    shares = spread(total, weights)
    if sum(weights) == 0:
        assert shares == [0] * len(weights)
        return
    assert sum(shares) == total
    for share, weight in zip(shares, weights):
        exact = Fraction(total * weight, sum(weights))
        assert exact - 1 < share < exact + 1


def test_rules_by_example() -> None:
    vat, incl = TaxRate("vat", 19 * PERCENT_SCALE, False), TaxRate("mwst", 77_000, True)
    assert [x.amount for x in line_taxes(1999, [vat])] == [380]  # 379.81 half-up
    assert [(x.amount, x.taxable_amount) for x in line_taxes(1999, [incl])] == [(143, 1856)]
    assert line_taxes(1999, [vat], TaxExempt.REVERSE) == ()
    # 5.00 off three lines of 1.00, 1.00 and 1.01 in proportion: 166.1..., 166.1..., 167.7...
    assert spread(500, [100, 100, 101]) == [166, 166, 168]
    assert spread(1, [1, 1]) == [1, 0]  # ties: the earlier line
    twenty = Discount("di", "co", 20 * PERCENT_SCALE, None, None)
    assert line_discounts([999, -333], [None, None], twenty, "USD") == [200, -67]  # 199.8, -66.6 half-up
    five = Discount("di", "co", None, 500, "USD")
    assert line_discounts([300, -100], [None, None], five, "USD") == [300, 0]  # never below zero, no credits
    assert line_discounts([300], [None], five, "JPY") == [0]
