"""Money: integer minor units with an ISO 4217 currency. Never floats.

Amounts are Python ints in the currency's minor unit (cents for USD, yen for JPY,
fils for KWD). Fractions only appear inside proration, which works on exact
rationals and rounds once per line, half-up.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from shared.domain.errors import Invalid

# ISO 4217 active currencies and their minor-unit exponent (list one, 2025).
# Codes whose exponent is "N.A." (precious metals, testing codes) are excluded:
# they cannot be invoiced in minor units.
_EXPONENT_0 = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_EXPONENT_3 = "BHD IQD JOD KWD LYD OMR TND"
_EXPONENT_4 = "CLF UYW"
_EXPONENT_2 = (
    "AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN "
    "BWP BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN "
    "ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD "
    "KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR "
    "MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON "
    "RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT "
    "TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG"
)

CURRENCY_EXPONENTS: dict[str, int] = {
    code: exponent
    for exponent, codes in ((0, _EXPONENT_0), (2, _EXPONENT_2), (3, _EXPONENT_3), (4, _EXPONENT_4))
    for code in codes.split()
}

# Largest amount accepted anywhere (fits BIGINT with room for sums of many lines).
MAX_AMOUNT = 10**15


def exponent(currency: str) -> int:
    """The number of decimals of the currency's minor unit (JPY 0, USD 2, KWD 3)."""
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        raise Invalid(f"'{currency}' is not an active ISO 4217 currency code", field="currency") from None


def is_currency(code: str) -> bool:
    return code in CURRENCY_EXPONENTS


def round_half_up(value: Fraction) -> int:
    """Round an exact rational to the nearest integer, halves away from zero.

    Away from zero keeps credits and charges symmetric: the credit for an unused
    half cent is the negation of the charge for it.
    """
    return divide_half_up(value.numerator, value.denominator)


def divide_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half away from zero: the one rounding rule, on
    integers (hot paths such as taxes and discounts skip building a Fraction)."""
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    sign = -1 if numerator < 0 else 1
    whole, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder >= denominator:
        whole += 1
    return sign * whole


# Percentages (tax rates, percent-off coupons) in exact units of 1/10,000 of a percent:
# 19% is 190_000, 7.7% is 77_000. Up to 4 decimals, never a float.
PERCENT_SCALE = 10_000


def percent_units(value: Decimal, *, decimals: int = 4, field: str = "percentage") -> int:
    """A percentage as exact units of 1/10,000 %; Invalid with more than `decimals` decimals."""
    if not value.is_finite() or (value * 10**decimals) % 1 != 0:
        raise Invalid(f"{field} takes at most {decimals} decimals, got {value}", field=field)
    return int(value * PERCENT_SCALE)


def percent_decimal(units: int) -> Decimal:
    """The percentage of `units` (1/10,000 %) as a Decimal, e.g. 77_000 -> 7.7."""
    whole, fraction = divmod(units, PERCENT_SCALE)
    return Decimal(f"{whole}.{fraction:04d}").normalize() if fraction else Decimal(whole)


def percent_of(amount: int, units: int, base_units: int = 100 * PERCENT_SCALE) -> int:
    """amount * units / base_units, half-up: a percentage of an amount in minor units."""
    return divide_half_up(amount * units, base_units)
