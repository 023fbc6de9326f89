"""For random event streams (duplicates, resends, out-of-order timestamps, several meters
and customers), the renewal invoice's usage lines equal a plain reference calculation."""

from __future__ import annotations

import asyncio
import math
import random
import uuid
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.client import Api

TIERS = [(3, Fraction(0), Fraction(0)), (10, Fraction(1, 2), Fraction(5)), (None, Fraction(1, 4), Fraction(0))]


def _half_up(value: Fraction) -> int:
    whole, rest = divmod(value.numerator, value.denominator)
    return whole + (1 if 2 * rest >= value.denominator else 0)


def _graduated(quantity: int) -> int:  # unit by unit
    total, reached = Fraction(0), set()
    for n in range(1, quantity + 1):
        i = next(k for k, t in enumerate(TIERS) if t[0] is None or n <= t[0])
        total += TIERS[i][1]
        reached.add(i)
    return _half_up(total + sum(TIERS[i][2] for i in reached))


def _volume(quantity: int) -> int:
    if quantity == 0:
        return 0
    up, unit, flat = next(t for t in TIERS if t[0] is None or quantity <= t[0])
    return _half_up(quantity * unit + flat)


def _package(quantity: int) -> int:
    return _half_up(math.ceil(quantity / 2) * Fraction(3, 2))


EVENT = st.tuples(
    st.sampled_from(["a", "b"]),  # customer
    st.sampled_from(["tokens", "calls", "users"]),  # meter
    st.integers(0, 40),  # day offset: 0-30 in the period, 31+ in the next one
    st.integers(0, 6),  # value (tokens) or user
)


async def _story(api: Api, stream: list[tuple[str, str, int, int]], seed: int) -> None:
    api = await api.as_new_tenant(f"prop-{uuid.uuid4().hex[:12]}")
    await api.settings(grace_period_days=365)
    for code, aggregation, prop in (("tokens", "sum", "n"), ("calls", "count", None), ("users", "unique_count", "u")):
        body = {"code": code, "name": code, "aggregation": aggregation, **({"value_property": prop} if prop else {})}
        assert (await api.post("/v1/meters", body)).status == 201
    tiers = [
        {"up_to": "inf" if up is None else up, "unit_amount": str(float(u)), "flat_amount": str(int(f))}
        for up, u, f in TIERS
    ]
    plan = await api.plan(
        amount=100,
        usage_charges=[
            {"meter": "tokens", "model": "graduated", "tiers": tiers},
            {"meter": "calls", "model": "volume", "tiers": tiers},
            {"meter": "users", "model": "package", "package_size": 2, "unit_amount": "1.5"},
        ],
    )
    clock = await api.test_clock("2026-03-01T00:00:00Z")
    subs = {}
    for c in ("a", "b"):
        customer = await api.customer(email=f"{c}@example.com", test_clock=clock["id"], external_id=c)
        subs[c] = await api.subscribe(customer, plan)
    await api.advance(clock, "2026-04-10T00:00:00Z")  # nothing metered yet: March is billed empty
    # Now the stream, in April (the period being metered) and May: ids repeat (resends).
    events = [
        {
            "id": f"e{n}",
            "customer": c,
            "meter": m,
            "timestamp": f"2026-04-{1 + min(day, 9):02d}T{day % 24:02d}:00:00Z"
            if day <= 30
            else "2026-05-01T00:00:00Z",
            "properties": {"n": v, "u": f"user{v}"},
        }
        for n, (c, m, day, v) in enumerate(stream)
    ]
    resent = events + random.Random(seed).sample(events, k=len(events) // 3)
    random.Random(seed).shuffle(resent)
    for start in range(0, len(resent), 7):
        reply = await api.post("/v1/usage_events/batch", {"events": resent[start : start + 7]})
        assert {r["status"] for r in reply.body["results"]} <= {"accepted", "duplicate", "rejected"}
    await api.advance(clock, "2026-05-01T12:00:00Z")

    for c in ("a", "b"):
        billed = [
            e for e in events if e["customer"] == c and e["timestamp"] < "2026-04-10T00:05:00Z"
        ]  # May events are 20 days ahead of the clock: rejected
        tokens = sum(e["properties"]["n"] for e in billed if e["meter"] == "tokens")
        calls = sum(1 for e in billed if e["meter"] == "calls")
        users = len({e["properties"]["u"] for e in billed if e["meter"] == "users"})
        [invoice] = [
            i for i in await api.invoices(subscription_id=subs[c]["id"]) if i["created_at"] == "2026-05-01T00:00:00Z"
        ]
        lines = (await api.get(f"/v1/invoices/{invoice['id']}")).body["lines"]
        assert [line["amount"] for line in lines] == [100, _graduated(tokens), _volume(calls), _package(users)]
        assert f": {tokens} (graduated" in lines[1]["description"]


@settings(max_examples=4, deadline=None)
@given(stream=st.lists(EVENT, min_size=1, max_size=40), seed=st.integers(0, 10**6))
def _check(loop: asyncio.AbstractEventLoop, api: Api, stream: list, seed: int) -> None:
    asyncio.run_coroutine_threadsafe(_story(api, stream, seed), loop).result(timeout=300)


async def test_invoiced_usage_equals_the_reference_for_random_streams(api: Api) -> None:
    loop = asyncio.get_running_loop()
    await asyncio.to_thread(_check, loop, api)
