from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain import money
from shared.domain.errors import Invalid


@pytest.mark.parametrize(
    ("code", "exponent"), [("USD", 2), ("EUR", 2), ("JPY", 0), ("KRW", 0), ("KWD", 3), ("BHD", 3), ("CLF", 4)]
)
def test_currency_exponents_follow_iso_4217(code: str, exponent: int) -> None:
    assert money.exponent(code) == exponent


@pytest.mark.parametrize("code", ["usd", "XXX", "XAU", "ABC", "", "USDD"])
def test_unknown_or_non_monetary_codes_are_rejected(code: str) -> None:
    assert not money.is_currency(code)
    with pytest.raises(Invalid):
        money.exponent(code)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Fraction(1, 2), 1),
        (Fraction(3, 2), 2),
        (Fraction(5, 2), 3),
        (Fraction(-1, 2), -1),
        (Fraction(49, 100), 0),
        (Fraction(51, 100), 1),
        (Fraction(7), 7),
        (Fraction(-5, 2), -3),
    ],
)
def test_round_half_up_rounds_halves_away_from_zero(value: Fraction, expected: int) -> None:
    assert money.round_half_up(value) == expected


@given(st.integers(-(10**12), 10**12), st.integers(1, 10**6))
def test_round_half_up_matches_decimal_half_up(numerator: int, denominator: int) -> None:
    expected = (Decimal(numerator) / Decimal(denominator)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    # Decimal's default precision (28 digits) is exact for these magnitudes.
    assert money.round_half_up(Fraction(numerator, denominator)) == int(expected)


@given(st.integers(-(10**12), 10**12), st.integers(1, 10**6))
def test_rounding_is_within_half_a_unit(numerator: int, denominator: int) -> None:
    value = Fraction(numerator, denominator)
    assert abs(money.round_half_up(value) - value) <= Fraction(1, 2)
