"""Prices of metered usage: the four models, and the one rounding rule for usage lines.

A plan's `usage_charges` price the quantity a meter measured in a period. Unit and flat
amounts are in the currency's minor unit and may be decimal (e.g. "0.25": a quarter of a
cent per call, as Stripe's unit_amount_decimal). Everything is computed on exact rationals
and rounded ONCE per line, at the end, half-up (shared.domain.money.round_half_up).

Models (Stripe's):
- per_unit: quantity x unit_amount.
- package: ceil(quantity / package_size) x unit_amount (a started package is a whole one).
- graduated: each tier prices the part of the quantity that falls in it (above the previous
  tier's up_to, up to its own) at its unit_amount, plus its flat_amount when any part of
  the quantity falls in it.
- volume: the one tier the whole quantity falls in (the first whose up_to >= quantity)
  prices all of it at its unit_amount, plus its flat_amount.
A quantity of zero costs nothing in every model (no usage, no line amount).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any

from shared.domain.errors import Invalid
from shared.domain.invoices import LineDraft
from shared.domain.money import MAX_AMOUNT, round_half_up
from shared.domain.periods import Period

MAX_TIERS = 20
MAX_CHARGES = 20
# A non-negative decimal with at most 12 decimals: "12", "0.25", "0.000001".
_DECIMAL = re.compile(r"^(0|[1-9][0-9]{0,15})(\.[0-9]{1,12})?$")


class Model(StrEnum):
    PER_UNIT = "per_unit"
    GRADUATED = "graduated"
    VOLUME = "volume"
    PACKAGE = "package"


@dataclass(frozen=True)
class Tier:
    up_to: Fraction | None  # None: "inf", the last tier
    unit_amount: Fraction
    flat_amount: Fraction = Fraction(0)


@dataclass(frozen=True)
class UsageCharge:
    meter: str  # the meter's code
    model: Model
    unit_amount: Fraction = Fraction(0)  # per_unit, package
    tiers: tuple[Tier, ...] = ()  # graduated, volume
    package_size: int = 1  # package


@dataclass(frozen=True)
class TierApplied:
    quantity: Fraction
    unit_amount: Fraction
    flat_amount: Fraction


@dataclass(frozen=True)
class Priced:
    quantity: Fraction
    amount: int  # rounded once, half-up
    tiers: tuple[TierApplied, ...]  # what was charged, in tier order (one entry for per_unit/package)


def _amount(value: Any, field: str) -> Fraction:
    """An amount in minor units: an integer, or a decimal string (never a float)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise Invalid(f'{field} must be an integer or a decimal string such as "0.25"', field="usage_charges")
    text = str(value)
    if not _DECIMAL.match(text) or Fraction(Decimal(text)) > MAX_AMOUNT:
        raise Invalid(
            f"{field} must be a decimal between 0 and {MAX_AMOUNT} with at most 12 decimals", field="usage_charges"
        )
    return Fraction(Decimal(text))


def _text(value: Fraction) -> str:
    """A rational with a finite decimal form, as the canonical decimal string."""
    if value.denominator == 1:
        return str(value.numerator)
    digits = Decimal(value.numerator) / Decimal(value.denominator)
    return format(digits.normalize(), "f")


def charge_from(raw: Mapping[str, Any], field: str = "usage_charges") -> UsageCharge:
    """Validate one charge as a client gives it (or as stored); Invalid names the field."""
    try:
        model = Model(str(raw.get("model")))
    except ValueError:
        raise Invalid(f"{field}.model must be one of {[m.value for m in Model]}", field="usage_charges") from None
    meter = raw.get("meter")
    if not isinstance(meter, str) or not meter:
        raise Invalid(f"{field}.meter must be a meter code", field="usage_charges")
    if model in (Model.PER_UNIT, Model.PACKAGE):
        if raw.get("tiers") is not None:
            raise Invalid(f"{field}.tiers is only for graduated and volume prices", field="usage_charges")
        unit = _amount(raw.get("unit_amount"), f"{field}.unit_amount")
        size = raw.get("package_size", 1 if model is Model.PER_UNIT else None)
        if model is Model.PER_UNIT and size != 1:
            raise Invalid(f"{field}.package_size is only for package prices", field="usage_charges")
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= 10**12:
            raise Invalid(f"{field}.package_size must be an integer from 1 to 10^12", field="usage_charges")
        return UsageCharge(meter, model, unit_amount=unit, package_size=size)
    if raw.get("unit_amount") is not None or raw.get("package_size") is not None:
        raise Invalid(
            f"{field}: {model.value} prices take tiers, not unit_amount or package_size", field="usage_charges"
        )
    tiers_raw = raw.get("tiers")
    if not isinstance(tiers_raw, list) or not 1 <= len(tiers_raw) <= MAX_TIERS:
        raise Invalid(f"{field}.tiers must list 1 to {MAX_TIERS} tiers", field="usage_charges")
    tiers = []
    previous = Fraction(0)
    for n, tier in enumerate(tiers_raw):
        where = f"{field}.tiers[{n}]"
        if not isinstance(tier, Mapping) or set(tier) - {"up_to", "unit_amount", "flat_amount"}:
            raise Invalid(f"{where} takes up_to, unit_amount and flat_amount only", field="usage_charges")
        last = n == len(tiers_raw) - 1
        up_raw = tier.get("up_to")
        if last:
            if up_raw != "inf":
                raise Invalid(f'{where}.up_to must be "inf" in the last tier', field="usage_charges")
            up_to = None
        else:
            if up_raw == "inf":
                raise Invalid(f'{where}.up_to: only the last tier is "inf"', field="usage_charges")
            up_to = _amount(up_raw, f"{where}.up_to")
            if up_to <= previous:
                raise Invalid(f"{where}.up_to must be greater than the previous tier's", field="usage_charges")
            previous = up_to
        tiers.append(
            Tier(
                up_to,
                _amount(tier.get("unit_amount", 0), f"{where}.unit_amount"),
                _amount(tier.get("flat_amount", 0), f"{where}.flat_amount"),
            )
        )
    return UsageCharge(meter, model, tiers=tuple(tiers))


def charges_from(raw: Sequence[Mapping[str, Any]]) -> tuple[UsageCharge, ...]:
    if len(raw) > MAX_CHARGES:
        raise Invalid(f"a plan takes at most {MAX_CHARGES} usage charges", field="usage_charges")
    charges = tuple(charge_from(c, f"usage_charges[{n}]") for n, c in enumerate(raw))
    meters = [c.meter for c in charges]
    if len(meters) != len(set(meters)):
        raise Invalid("usage_charges: one charge per meter", field="usage_charges")
    return charges


def as_json(charge: UsageCharge) -> dict[str, Any]:
    """The stored and returned form: amounts as canonical decimal strings."""
    out: dict[str, Any] = {"meter": charge.meter, "model": charge.model.value}
    if charge.model in (Model.PER_UNIT, Model.PACKAGE):
        out["unit_amount"] = _text(charge.unit_amount)
        if charge.model is Model.PACKAGE:
            out["package_size"] = charge.package_size
    else:
        out["tiers"] = [
            {
                "up_to": "inf" if t.up_to is None else _text(t.up_to),
                "unit_amount": _text(t.unit_amount),
                "flat_amount": _text(t.flat_amount),
            }
            for t in charge.tiers
        ]
    return out


def price(charge: UsageCharge, quantity: Fraction) -> Priced:
    """What `quantity` (>= 0) of the meter costs under `charge`, rounded once."""
    if quantity < 0:
        raise ValueError("a usage quantity is never negative")
    applied: list[TierApplied] = []
    if quantity == 0:
        pass
    elif charge.model is Model.PER_UNIT:
        applied.append(TierApplied(quantity, charge.unit_amount, Fraction(0)))
    elif charge.model is Model.PACKAGE:
        packages = Fraction(math.ceil(quantity / charge.package_size))
        applied.append(TierApplied(packages, charge.unit_amount, Fraction(0)))
    elif charge.model is Model.GRADUATED:
        lower = Fraction(0)
        for tier in charge.tiers:
            if quantity <= lower:
                break
            upper = quantity if tier.up_to is None else min(quantity, tier.up_to)
            applied.append(TierApplied(upper - lower, tier.unit_amount, tier.flat_amount))
            lower = upper if tier.up_to is None else tier.up_to
    else:  # volume
        tier = next(t for t in charge.tiers if t.up_to is None or quantity <= t.up_to)
        applied.append(TierApplied(quantity, tier.unit_amount, tier.flat_amount))
    exact = sum((t.quantity * t.unit_amount + t.flat_amount for t in applied), Fraction(0))
    return Priced(quantity, round_half_up(exact), tuple(applied))


def describe(meter_name: str, meter_code: str, priced: Priced, charge: UsageCharge) -> str:
    """How a usage line reads on an invoice: meter, quantity, and the tiers applied."""
    unit = "package" if charge.model is Model.PACKAGE else "unit"
    parts = [
        f"{_text(t.quantity)} {unit}(s) x {_text(t.unit_amount)}"
        + (f" + {_text(t.flat_amount)}" if t.flat_amount else "")
        for t in priced.tiers
    ]
    return f"{meter_name} ({meter_code}): {_text(priced.quantity)} ({charge.model.value}: {' | '.join(parts) or 'no usage'})"


def usage_lines(
    charges: Sequence[UsageCharge],
    measured: Sequence[tuple[str, Decimal] | None],
    period: Period,
    plan_id: str,
) -> list[LineDraft]:
    """The invoice lines of one usage period: one per charge whose meter exists, given the
    (meter name, quantity) measured for each charge, priced and rounded once per line."""
    lines = []
    for charge, found in zip(charges, measured):
        if found is None:  # the plan prices a meter that no longer exists: nothing measured
            continue
        name, quantity = found
        priced = price(charge, Fraction(quantity))
        lines.append(
            LineDraft(describe(name, charge.meter, priced, charge), priced.amount, period.start, period.end, plan_id)
        )
    return lines


def plan_charges(raw: Any) -> tuple[UsageCharge, ...]:
    """A plan's stored usage_charges (a list, or its JSON text)."""
    return charges_from(json.loads(raw) if isinstance(raw, str) else raw)
