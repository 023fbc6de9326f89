"""Money: integer minor units with an ISO 4217 currency. Never floats.

Amounts are Python ints in the currency's minor unit (cents for USD, yen for JPY,
fils for KWD). Fractions only appear inside proration, which works on exact
rationals and rounds once per line, half-up.
"""

from __future__ import annotations

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
    sign = -1 if value < 0 else 1
    magnitude = abs(value)
    whole, remainder = divmod(magnitude.numerator, magnitude.denominator)
    if 2 * remainder >= magnitude.denominator:
        whole += 1
    return sign * whole
