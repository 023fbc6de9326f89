"""The four usage price models against a plain reference calculation, tier boundaries
exactly at, below and above up_to, and the one rounding (half-up, once per line)."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.errors import Invalid
from shared.domain.usage_pricing import as_json, charge_from, price

DECIMALS = st.sampled_from(["0", "1", "0.25", "0.5", "2.5", "0.001", "7", "0.333333333333"])


def _reference(model: str, quantity: int, tiers: list[tuple[int | None, str, str]], unit: str, size: int) -> int:
    """Unit by unit: what each unit costs, plus the flat fees of the tiers reached."""
    if quantity == 0:
        return 0
    if model == "per_unit":
        exact = quantity * Fraction(unit)
    elif model == "package":
        exact = math.ceil(quantity / size) * Fraction(unit)
    elif model == "graduated":
        exact = Fraction(0)
        reached = set()
        for n in range(1, quantity + 1):
            index = next(i for i, (up, _, _) in enumerate(tiers) if up is None or n <= up)
            exact += Fraction(tiers[index][1])
            reached.add(index)
        exact += sum(Fraction(tiers[i][2]) for i in reached)
    else:
        up, u, flat = next(t for t in tiers if t[0] is None or quantity <= t[0])
        exact = quantity * Fraction(u) + Fraction(flat)
    whole, rest = divmod(exact.numerator, exact.denominator)
    return whole + (1 if 2 * rest >= exact.denominator else 0)


@st.composite
def tiered(draw):  # type: ignore[no-untyped-def]
    bounds = sorted(set(draw(st.lists(st.integers(1, 300), min_size=0, max_size=4))))
    tiers = [(b, draw(DECIMALS), draw(DECIMALS)) for b in bounds] + [(None, draw(DECIMALS), draw(DECIMALS))]
    return tiers


@settings(max_examples=150, deadline=None)
@given(
    model=st.sampled_from(["per_unit", "package", "graduated", "volume"]),
    tiers=tiered(),
    unit=DECIMALS,
    size=st.integers(1, 50),
    data=st.data(),
)
def test_every_model_matches_the_reference(model, tiers, unit, size, data) -> None:  # type: ignore[no-untyped-def]
    bounds = [t[0] for t in tiers if t[0] is not None]
    # Quantities at, below and above every bound, and anywhere else.
    near = [q for b in bounds for q in (b - 1, b, b + 1)] + [0, 1]
    quantity = data.draw(st.one_of(st.sampled_from(near), st.integers(0, 400)))
    raw: dict = {"meter": "m", "model": model}
    if model in ("per_unit", "package"):
        raw["unit_amount"] = unit
        if model == "package":
            raw["package_size"] = size
    else:
        raw["tiers"] = [
            {"up_to": "inf" if up is None else up, "unit_amount": u, "flat_amount": f} for up, u, f in tiers
        ]
    charge = charge_from(raw)
    assert charge_from(as_json(charge)) == charge  # stored form reads back the same
    assert price(charge, Fraction(quantity)).amount == _reference(model, quantity, tiers, unit, size)


def _graduated() -> dict:
    return {
        "meter": "calls",
        "model": "graduated",
        "tiers": [
            {"up_to": 100, "unit_amount": "0"},
            {"up_to": 200, "unit_amount": "0.5", "flat_amount": 10},
            {"up_to": "inf", "unit_amount": "0.25"},
        ],
    }


@pytest.mark.parametrize(
    ("quantity", "amount"),
    [(0, 0), (99, 0), (100, 0), (101, 11), (199, 60), (200, 60), (201, 60), (202, 61), (203, 61)],
)
def test_graduated_boundaries(quantity: int, amount: int) -> None:
    # 101: 1 x 0.5 + 10 = 10.5 -> 11; 201: 50 + 10 + 0.25 = 60.25 -> 60; 202: 60.5 -> 61
    assert price(charge_from(_graduated()), Fraction(quantity)).amount == amount


@pytest.mark.parametrize(("quantity", "amount"), [(100, 0), (101, 61), (200, 110), (201, 50)])
def test_volume_boundaries(quantity: int, amount: int) -> None:
    volume = {**_graduated(), "model": "volume"}
    # 101 x 0.5 + 10 = 60.5 -> 61; 200 x 0.5 + 10 = 110; 201 x 0.25 = 50.25 -> 50
    assert price(charge_from(volume), Fraction(quantity)).amount == amount


@pytest.mark.parametrize(("quantity", "amount"), [(0, 0), (1, 3), (99, 3), (100, 3), (101, 5)])
def test_package_rounds_packages_up_and_amounts_half_up(quantity: int, amount: int) -> None:
    charge = charge_from({"meter": "m", "model": "package", "package_size": 100, "unit_amount": "2.5"})
    # one package: 2.5 -> 3; two: 5
    assert price(charge, Fraction(quantity)).amount == amount


@pytest.mark.parametrize(
    "raw",
    [
        {"meter": "m", "model": "per_unit", "unit_amount": 0.25},  # a float: never
        {"meter": "m", "model": "per_unit", "unit_amount": "-1"},
        {"meter": "m", "model": "per_unit", "unit_amount": "1.0000000000001"},  # 13 decimals
        {"meter": "m", "model": "graduated", "tiers": [{"up_to": 5, "unit_amount": 1}]},  # last not inf
        {"meter": "m", "model": "graduated", "tiers": [{"up_to": 5}, {"up_to": 5}, {"up_to": "inf"}]},
        {"meter": "m", "model": "volume", "unit_amount": 1, "tiers": [{"up_to": "inf"}]},
        {"meter": "m", "model": "package", "unit_amount": 1},  # no package_size
        {"meter": "m", "model": "tiered"},
    ],
)
def test_bad_charges_are_invalid(raw: dict) -> None:
    with pytest.raises(Invalid):
        charge_from(raw)
