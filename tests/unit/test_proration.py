from datetime import UTC, datetime, timedelta
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from shared.domain.money import MAX_AMOUNT
from shared.domain.periods import Period
from shared.domain.proration import change_lines, prorate, remaining_fraction

START = datetime(2026, 4, 1, tzinfo=UTC)
APRIL = Period(START, datetime(2026, 5, 1, tzinfo=UTC))


def test_twenty_of_thirty_days_left_is_two_thirds() -> None:
    at = datetime(2026, 4, 11, tzinfo=UTC)
    assert remaining_fraction(APRIL, at) == Fraction(2, 3)
    assert change_lines(1000, 3000, APRIL, at) == (-667, 2000)


def test_exact_halves_round_away_from_zero() -> None:
    at = datetime(2026, 4, 16, tzinfo=UTC)
    assert change_lines(5125, 12345, APRIL, at) == (-2563, 6173)


amounts = st.integers(0, MAX_AMOUNT // 10)
lengths = st.integers(1, 3 * 366 * 86_400)  # seconds, up to three years


@given(amounts, lengths, st.floats(0, 1))
def test_proration_is_bounded_and_exact_within_half_a_unit(amount: int, seconds: int, share: float) -> None:
    period = Period(START, START + timedelta(seconds=seconds))
    at = START + timedelta(seconds=int(seconds * share))
    value = prorate(amount, period, at)
    exact = amount * remaining_fraction(period, at)
    assert 0 <= value <= amount
    assert abs(value - exact) <= Fraction(1, 2)


@given(amounts, amounts, lengths)
def test_at_the_period_edges(old: int, new: int, seconds: int) -> None:
    period = Period(START, START + timedelta(seconds=seconds))
    assert change_lines(old, new, period, period.start) == (-old, new)
    assert change_lines(old, new, period, period.end) == (0, 0)


@given(amounts, lengths, st.floats(0, 1))
def test_credit_and_charge_are_mirror_images(amount: int, seconds: int, share: float) -> None:
    period = Period(START, START + timedelta(seconds=seconds))
    at = START + timedelta(seconds=int(seconds * share))
    credit, charge = change_lines(amount, amount, period, at)
    assert credit == -charge  # switching to an equal price costs nothing
