"""Billing stories for the plan-change and resume rules (issue 10, items 1-4 and 8), through
the API on test clocks, with exact amounts in USD (2 decimals), JPY (0) and KWD (3).

April 2026 has 30 days, so from 2026-04-01 a change on Apr 16 leaves exactly half of the
monthly period (15 days) and one on Apr 11 two thirds (20 days); the year from 2026-04-01
has 365 days.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from shared.domain.money import MAX_AMOUNT
from tests.client import Api

CURRENCIES = ["USD", "JPY", "KWD"]


async def _start(api: Api, currency: str, amount: int, interval: str = "month", at: str = "2026-04-01T00:00:00Z"):
    await api.settings(grace_period_days=365)
    clock = await api.test_clock(at)
    customer = await api.customer(test_clock=clock["id"])
    plan = await api.plan(code=f"start-{interval}", amount=amount, currency=currency, interval=interval)
    return clock, await api.subscribe(customer, plan), plan


async def _change(api: Api, subscription: dict, plan: dict, proration: str, status: int = 200) -> dict:
    reply = await api.post(
        f"/v1/subscriptions/{subscription['id']}/change_plan", {"plan_id": plan["id"], "proration": proration}
    )
    assert reply.status == status, reply
    return reply.body


async def _updates(api: Api, subscription: dict) -> list[dict]:
    invoices = await api.invoices(subscription_id=subscription["id"])
    return sorted((i for i in invoices if i["billing_reason"] == "subscription_update"), key=lambda i: i["number"])


def _amounts(invoice: dict) -> list[int]:
    return [line["amount"] for line in invoice["lines"]]


# Item 2: a plan with another interval prices the rest of the current period at its own rate.


@pytest.mark.parametrize(
    ("currency", "monthly", "daily", "yearly", "to_daily", "to_yearly"),
    [
        # monthly 10.00 -> daily 1.00 at mid-month: 15 days x 1.00; -> yearly 120.00: 120 x 15/365 = 4.93
        ("USD", 1000, 100, 12000, 1500, 493),
        ("JPY", 1000, 100, 12000, 1500, 493),  # 493.15
        ("KWD", 10000, 1000, 120000, 15000, 4932),  # 4931.51
    ],
)
async def test_a_change_to_another_interval_charges_the_rest_at_the_new_plans_own_rate(
    api: Api, currency: str, monthly: int, daily: int, yearly: int, to_daily: int, to_yearly: int
) -> None:
    clock = await api.test_clock("2026-04-01T00:00:00Z")
    day_plan = await api.plan(code="daily", amount=daily, currency=currency, interval="day")
    year_plan = await api.plan(code="yearly", amount=yearly, currency=currency, interval="year")
    month_plan = await api.plan(code="monthly", amount=monthly, currency=currency)
    first = await api.subscribe(await api.customer(test_clock=clock["id"]), month_plan)
    second = await api.subscribe(await api.customer("b@example.com", test_clock=clock["id"]), month_plan)
    await api.advance(clock, "2026-04-16T00:00:00Z")
    await _change(api, first, day_plan, "always_invoice")
    await _change(api, second, year_plan, "always_invoice")
    [daily_update], [yearly_update] = await _updates(api, first), await _updates(api, second)
    assert _amounts(daily_update) == [-monthly // 2, to_daily]
    assert _amounts(yearly_update) == [-monthly // 2, to_yearly]
    assert daily_update["period_end"] == yearly_update["period_end"] == "2026-05-01T00:00:00Z"
    # The new cadence starts where the current period ends.
    preview = await api.get(f"/v1/subscriptions/{second['id']}/upcoming_invoice")
    assert (preview["period_start"], preview["period_end"], preview["total"]) == (
        "2026-05-01T00:00:00Z",
        "2027-05-01T00:00:00Z",
        yearly,
    )


@pytest.mark.parametrize(
    ("currency", "yearly", "monthly", "credit", "charge"),
    [
        # yearly 120.00 -> monthly 10.00 on Apr 16: 350 of 365 days unused (115.07), 350/30 months at 10.00 (116.67)
        ("USD", 12000, 1000, -11507, 11667),
        ("JPY", 12000, 1000, -11507, 11667),
        ("KWD", 120000, 10000, -115068, 116667),
    ],
)
async def test_a_change_from_yearly_to_monthly_keeps_the_yearly_period(
    api: Api, currency: str, yearly: int, monthly: int, credit: int, charge: int
) -> None:
    clock, subscription, _ = await _start(api, currency, yearly, "year")
    month_plan = await api.plan(code="monthly", amount=monthly, currency=currency)
    await api.advance(clock, "2026-04-16T00:00:00Z")
    await _change(api, subscription, month_plan, "always_invoice")
    [update] = await _updates(api, subscription)
    assert _amounts(update) == [credit, charge]
    assert (update["period_start"], update["period_end"]) == ("2026-04-16T00:00:00Z", "2027-04-01T00:00:00Z")
    for moment in ("2027-04-01T00:00:00Z", "2027-05-02T00:00:00Z"):
        for invoice in await api.invoices(subscription_id=subscription["id"], status="open"):
            await api.post(f"/v1/invoices/{invoice['id']}/pay")
        await api.advance(clock, moment)
    assert (await api.periods(subscription))[1:] == [
        ("2027-04-01T00:00:00Z", "2027-05-01T00:00:00Z"),
        ("2027-05-01T00:00:00Z", "2027-06-01T00:00:00Z"),
    ]


# Seconds in one period of each interval counted from 2026-04-01, and left at 12:00 that day.
LENGTH = {"day": 1, "week": 7, "month": 30, "year": 365}


@pytest.mark.parametrize("currency", CURRENCIES)
async def test_every_interval_pair_in_both_directions(api: Api, currency: str) -> None:
    """At 12:00 on the first day: the old plan's billed amount is credited for what is left
    of its period, the new plan charged at its own rate for that same rest."""
    clock = await api.test_clock("2026-04-01T00:00:00Z")
    amount = {"day": 1001, "week": 7007, "month": 30011, "year": 365003}
    plans = {i: await api.plan(code=f"p-{i}", amount=amount[i], currency=currency, interval=i) for i in LENGTH}
    pairs = [(a, b) for a in LENGTH for b in LENGTH if a != b]
    subscriptions = {}
    for n, (a, b) in enumerate(pairs):
        customer = await api.customer(f"c{n}@example.com", test_clock=clock["id"])
        subscriptions[(a, b)] = await api.subscribe(customer, plans[a])
    await api.advance(clock, "2026-04-01T12:00:00Z")
    for (a, b), subscription in subscriptions.items():
        await _change(api, subscription, plans[b], "always_invoice")
        left_days = Fraction(LENGTH[a] * 2 - 1, 2)  # what is left of the old period, in days
        credit = math.floor(amount[a] * left_days / LENGTH[a] + Fraction(1, 2))  # half-up
        charge = math.floor(amount[b] * left_days / LENGTH[b] + Fraction(1, 2))
        [update] = await _updates(api, subscription)
        assert _amounts(update) == [-credit, charge], (a, b)
        preview = await api.get(f"/v1/subscriptions/{subscription['id']}/upcoming_invoice")
        assert (preview["period_start"], preview["total"]) == (update["period_end"], amount[b]), (a, b)


# Item 3: credits are the unused rest of what was billed, never a price that was not billed.


@pytest.mark.parametrize(
    ("currency", "basic", "premium", "cheap"),
    [("USD", 1000, 10000, 500), ("JPY", 1000, 10000, 500), ("KWD", 10000, 100000, 5000)],
)
async def test_a_credit_is_the_unused_rest_of_what_was_billed(
    api: Api, currency: str, basic: int, premium: int, cheap: int
) -> None:
    clock, subscription, _ = await _start(api, currency, basic)
    premium_plan = await api.plan(code="premium", amount=premium, currency=currency)
    cheap_plan = await api.plan(code="cheap", amount=cheap, currency=currency)
    await api.advance(clock, "2026-04-16T00:00:00Z")
    await _change(api, subscription, premium_plan, "none")  # billed nothing: the period stays at `basic`
    await _change(api, subscription, cheap_plan, "create_prorations")
    preview = await api.get(f"/v1/subscriptions/{subscription['id']}/upcoming_invoice")
    # Next period's line, then the credit: half of what was billed (basic), the charge: half of cheap.
    assert _amounts(preview.body) == [cheap, -basic // 2, cheap // 2]


@pytest.mark.parametrize(
    ("currency", "basic", "premium", "cheap", "lines"),
    [
        # Apr 11: 10.00 -> 100.00, credit -6.67 and charge +66.67 (20 of 30 days). Apr 21: 10 days left of
        # 3.33 (cycle) - 3.335 (credit) + 33.335 (charge) = 33.33 unused; 5.00 for 10 days = 1.67.
        ("USD", 1000, 10000, 500, [-667, 6667, -3333, 167]),
        ("JPY", 1000, 10000, 500, [-667, 6667, -3333, 167]),
        ("KWD", 10000, 100000, 5000, [-6667, 66667, -33333, 1667]),
    ],
)
async def test_earlier_proration_charges_and_credits_are_part_of_what_was_billed(
    api: Api, currency: str, basic: int, premium: int, cheap: int, lines: list[int]
) -> None:
    clock, subscription, _ = await _start(api, currency, basic)
    premium_plan = await api.plan(code="premium", amount=premium, currency=currency)
    cheap_plan = await api.plan(code="cheap", amount=cheap, currency=currency)
    await api.advance(clock, "2026-04-11T00:00:00Z")
    await _change(api, subscription, premium_plan, "create_prorations")
    await api.advance(clock, "2026-04-21T00:00:00Z")
    await _change(api, subscription, cheap_plan, "create_prorations")
    await api.advance(clock, "2026-05-01T00:00:00Z")
    renewal = max(await api.invoices(subscription_id=subscription["id"]), key=lambda i: i["number"])
    assert _amounts(renewal) == [cheap, *lines]


@pytest.mark.parametrize(
    ("currency", "basic", "premium", "cheap", "credit", "charge"),
    [
        ("USD", 1000, 10000, 500, -500, 250),
        ("JPY", 1000, 10000, 500, -500, 250),
        ("KWD", 10000, 100000, 5000, -5000, 2500),
    ],
)
async def test_a_voided_proration_invoice_billed_nothing(
    api: Api, currency: str, basic: int, premium: int, cheap: int, credit: int, charge: int
) -> None:
    clock, subscription, _ = await _start(api, currency, basic)
    premium_plan = await api.plan(code="premium", amount=premium, currency=currency)
    cheap_plan = await api.plan(code="cheap", amount=cheap, currency=currency)
    await api.advance(clock, "2026-04-16T00:00:00Z")
    await _change(api, subscription, premium_plan, "always_invoice")
    [upgrade] = await _updates(api, subscription)
    assert (await api.post(f"/v1/invoices/{upgrade['id']}/void")).status == 200
    await _change(api, subscription, cheap_plan, "always_invoice")
    assert _amounts((await _updates(api, subscription))[1]) == [credit, charge]


# Item 4: re-anchor only when, at the period end, the cadence differs from the period's.


@pytest.mark.parametrize(("currency", "amount"), [("USD", 1000), ("JPY", 1000), ("KWD", 10000)])
async def test_to_another_interval_and_back_within_a_period_keeps_the_anchor(
    api: Api, currency: str, amount: int
) -> None:
    clock, subscription, monthly = await _start(api, currency, amount, at="2027-01-31T00:00:00Z")
    yearly = await api.plan(code="yearly", amount=amount * 12, currency=currency, interval="year")
    await _change(api, subscription, yearly, "none")
    await _change(api, subscription, monthly, "none")
    preview = await api.get(f"/v1/subscriptions/{subscription['id']}/upcoming_invoice")
    assert (preview["period_start"], preview["period_end"]) == ("2027-02-28T00:00:00Z", "2027-03-31T00:00:00Z")
    await api.advance(clock, "2027-05-01T00:00:00Z")
    for invoice in await api.invoices(subscription_id=subscription["id"], status="open"):
        await api.post(f"/v1/invoices/{invoice['id']}/pay")
    assert await api.periods(subscription) == [
        ("2027-01-31T00:00:00Z", "2027-02-28T00:00:00Z"),
        ("2027-02-28T00:00:00Z", "2027-03-31T00:00:00Z"),
        ("2027-03-31T00:00:00Z", "2027-04-30T00:00:00Z"),
        ("2027-04-30T00:00:00Z", "2027-05-31T00:00:00Z"),
    ]
    assert {i["total"] for i in await api.invoices(subscription_id=subscription["id"])} == {amount}
    assert (await api.subscription(subscription))["billing_cycle_anchor"] == "2027-01-31T00:00:00Z"


async def test_a_new_cadence_re_anchors_at_the_period_end(api: Api) -> None:
    clock, subscription, _ = await _start(api, "USD", 1000, at="2027-01-31T00:00:00Z")
    yearly = await api.plan(code="yearly", amount=12000, interval="year")
    await _change(api, subscription, yearly, "none")
    preview = await api.get(f"/v1/subscriptions/{subscription['id']}/upcoming_invoice")
    await api.advance(clock, "2027-02-28T00:00:00Z")
    assert (preview["period_start"], preview["period_end"]) == ("2027-02-28T00:00:00Z", "2028-02-28T00:00:00Z")
    assert (await api.periods(subscription))[-1] == (preview["period_start"], preview["period_end"])
    assert (await api.subscription(subscription))["billing_cycle_anchor"] == "2027-02-28T00:00:00Z"


# Item 8: resume credits the unused rest of the paused period; same-second resume works.


@pytest.mark.parametrize(
    ("currency", "amount", "credit"),
    [("USD", 1000, -667), ("JPY", 1000, -667), ("KWD", 5125, -3417)],  # 20 of 30 days: 666.67, 3416.67
)
async def test_resume_credits_the_unused_rest_of_the_paused_period(
    api: Api, currency: str, amount: int, credit: int
) -> None:
    clock, subscription, plan = await _start(api, currency, amount)
    assert (await api.post(f"/v1/subscriptions/{subscription['id']}/pause")).status == 200
    await api.advance(clock, "2026-04-11T00:00:00Z")
    resumed = await api.post(f"/v1/subscriptions/{subscription['id']}/resume")
    assert resumed.status == 200, resumed
    resume = max(await api.invoices(subscription_id=subscription["id"]), key=lambda i: i["number"])
    assert [
        (line["amount"], line["period_start"], line["period_end"], line["proration"]) for line in resume["lines"]
    ] == [
        (amount, "2026-04-11T00:00:00Z", "2026-05-11T00:00:00Z", False),
        (credit, "2026-04-11T00:00:00Z", "2026-05-01T00:00:00Z", True),
    ]
    assert (resume["total"], resume["amount_due"]) == (amount + credit, amount + credit)


@pytest.mark.parametrize(
    ("currency", "premium", "basic", "unused"),
    [("USD", 10000, 1000, 9667), ("JPY", 10000, 1000, 9667), ("KWD", 100000, 10000, 96667)],
)
async def test_a_resume_credit_beyond_the_new_invoices_charges_goes_to_the_balance(
    api: Api, currency: str, premium: int, basic: int, unused: int
) -> None:
    """100.00 billed, downgraded with `none`, paused at once, resumed a day later: 29/30 of
    it is unused (96.67), the new invoice charges 10.00: the whole credit is on the invoice,
    whose negative total (-86.67) goes to the customer's balance (proration_credit), as any
    negative invoice total does; the next renewal consumes it."""
    clock, subscription, _ = await _start(api, currency, premium)
    await _change(api, subscription, await api.plan(code="basic", amount=basic, currency=currency), "none")
    assert (await api.post(f"/v1/subscriptions/{subscription['id']}/pause")).status == 200
    await api.advance(clock, "2026-04-02T00:00:00Z")
    assert (await api.post(f"/v1/subscriptions/{subscription['id']}/resume")).status == 200
    resume = max(await api.invoices(subscription_id=subscription["id"]), key=lambda i: i["number"])
    left = basic - unused  # e.g. -86.67: owed to the customer, not lost
    assert (_amounts(resume), resume["total"], resume["status"]) == ([basic, -unused], left, "paid")
    assert (resume["starting_balance"], resume["ending_balance"], resume["amount_due"]) == (0, left, 0)
    customer = f"/v1/customers/{subscription['customer_id']}"
    assert (await api.get(customer))["balances"] == {currency: left}
    ledger = await api.get(f"{customer}/balance_transactions")
    assert [(t["type"], t["amount"], t["invoice"]) for t in ledger["data"]] == [
        ("proration_credit", left, resume["id"])
    ]
    await api.advance(clock, "2026-05-02T00:00:00Z")  # the next period's invoice is paid by the credit
    renewal = max(await api.invoices(subscription_id=subscription["id"]), key=lambda i: i["number"])
    assert (renewal["total"], renewal["starting_balance"], renewal["ending_balance"], renewal["amount_due"]) == (
        basic,
        left,
        left + basic,
        0,
    )
    assert (await api.get(customer))["balances"] == {currency: left + basic}


@pytest.mark.parametrize("headers", [{}, {"Idempotency-Key": "resume-once"}])
async def test_pausing_and_resuming_in_the_same_second_is_not_refused(api: Api, headers: dict[str, str]) -> None:
    clock, subscription, _ = await _start(api, "USD", 1000)
    for n in range(2):  # at the period's very start: the period resumes as it was
        assert (await api.post(f"/v1/subscriptions/{subscription['id']}/pause")).status == 200
        keyed = {name: f"{value}-{n}" for name, value in headers.items()}
        resumed = await api.post(f"/v1/subscriptions/{subscription['id']}/resume", headers=keyed)
        assert resumed.status == 200, resumed
        assert (resumed["status"], resumed["current_period_start"]) == ("active", "2026-04-01T00:00:00Z")
    assert len(await api.invoices(subscription_id=subscription["id"])) == 1
    await api.advance(clock, "2026-04-11T00:00:00Z")
    for _ in range(2):  # mid-period: a new period now, crediting the rest; then in place again
        assert (await api.post(f"/v1/subscriptions/{subscription['id']}/pause")).status == 200
        assert (await api.post(f"/v1/subscriptions/{subscription['id']}/resume")).status == 200
    totals = [
        i["total"] for i in sorted(await api.invoices(subscription_id=subscription["id"]), key=lambda i: i["number"])
    ]
    assert totals == [1000, 1000 - 667]
    await api.advance(clock, "2026-05-11T00:00:00Z")
    assert await api.periods(subscription) == [
        ("2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z"),
        ("2026-04-11T00:00:00Z", "2026-05-11T00:00:00Z"),
        ("2026-05-11T00:00:00Z", "2026-06-11T00:00:00Z"),
    ]


# Item 1 (at the source): a change that would produce an invoice out of range is refused.


@pytest.mark.parametrize("currency", CURRENCIES)
async def test_a_change_that_would_produce_an_invoice_out_of_range_is_refused(api: Api, currency: str) -> None:
    clock, subscription, plan = await _start(api, currency, 1000)
    huge_daily = await api.plan(code="huge-daily", amount=MAX_AMOUNT, currency=currency, interval="day")
    huge_monthly = await api.plan(code="huge-monthly", amount=MAX_AMOUNT, currency=currency)
    await api.advance(clock, "2026-04-16T00:00:00Z")
    # 15 days at 10^15 a day: one line out of range, now or on the next renewal.
    for proration in ("always_invoice", "create_prorations"):
        refused = await _change(api, subscription, huge_daily, proration, status=422)
        assert refused["errors"][0]["field"] == "plan_id" and str(MAX_AMOUNT) in refused["detail"], refused
    # Half a period's charge pending plus the next cycle line of 10^15: the next renewal.
    refused = await _change(api, subscription, huge_monthly, "create_prorations", status=422)
    assert "next renewal invoice" in refused["detail"]
    assert (await api.subscription(subscription))["plan_id"] == plan["id"]
    assert len(await api.invoices(subscription_id=subscription["id"])) == 1
    preview = await api.get(f"/v1/subscriptions/{subscription['id']}/upcoming_invoice")
    assert _amounts(preview.body) == [1000]  # nothing pending was written
    # Billed now instead, the same change fits: the next renewal is the plan's line alone.
    await _change(api, subscription, huge_monthly, "always_invoice")
    [update] = await _updates(api, subscription)
    assert _amounts(update) == [-500, MAX_AMOUNT // 2]
