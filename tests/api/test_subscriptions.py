"""Subscribing: the subscription and its first invoice are created together, exactly once."""

import asyncio

from shared.clock import FrozenClock
from tests.client import Api
from tests.conftest import START


async def test_subscribing_issues_the_first_invoice_for_the_first_period(api: Api) -> None:
    customer = await api.customer()
    plan = await api.plan(amount=1999, currency="USD", interval="month")

    subscription = await api.subscribe(customer, plan)

    assert subscription["status"] == "active"
    # Started Jan 31 at 10:00: the first month ends Feb 28 (2026 is not a leap year).
    assert subscription["current_period_start"] == "2026-01-31T10:00:00Z"
    assert subscription["current_period_end"] == "2026-02-28T10:00:00Z"
    assert subscription["billing_cycle_anchor"] == "2026-01-31T10:00:00Z"
    [invoice] = await api.invoices(subscription_id=subscription["id"])
    assert invoice["status"] == "open"
    assert invoice["billing_reason"] == "subscription_create"
    assert invoice["number"] == 1
    assert (invoice["period_start"], invoice["period_end"]) == (
        subscription["current_period_start"],
        subscription["current_period_end"],
    )
    assert (
        invoice["currency"],
        invoice["subtotal"],
        invoice["total"],
        invoice["amount_due"],
        invoice["amount_paid"],
    ) == ("USD", 1999, 1999, 1999, 0)
    assert invoice["amount_remaining"] == 1999
    assert invoice["due_at"] == "2026-03-02T10:00:00Z"  # days_until_due defaults to 30
    [line] = invoice["lines"]
    assert (line["amount"], line["plan_id"], line["proration"]) == (1999, plan["id"], False)
    assert sum(line["amount"] for line in invoice["lines"]) == invoice["total"]


async def test_zero_decimal_and_three_decimal_currencies_bill_exact_minor_units(api: Api) -> None:
    customer = await api.customer()
    jpy = await api.plan(code="jp", amount=980, currency="JPY")
    kwd = await api.plan(code="kw", amount=12345, currency="KWD")  # 12.345 KWD
    await api.subscribe(customer, jpy)
    await api.subscribe(customer, kwd)
    totals = sorted((inv["currency"], inv["total"]) for inv in await api.invoices(customer_id=customer["id"]))
    assert totals == [("JPY", 980), ("KWD", 12345)]


async def test_a_free_plan_invoice_is_paid_at_once(api: Api) -> None:
    customer = await api.customer()
    plan = await api.plan(code="free", amount=0)
    await api.subscribe(customer, plan)
    [invoice] = await api.invoices()
    assert (invoice["status"], invoice["amount_due"], invoice["paid_at"]) == ("paid", 0, "2026-01-31T10:00:00Z")


async def test_a_trial_bills_nothing_until_it_ends(api: Api) -> None:
    customer = await api.customer()
    plan = await api.plan(trial_period_days=14)
    subscription = await api.subscribe(customer, plan)
    assert subscription["status"] == "trialing"
    assert subscription["trial_end"] == "2026-02-14T10:00:00Z"
    assert subscription["current_period_end"] == subscription["trial_end"]
    assert subscription["billing_cycle_anchor"] == subscription["trial_end"]
    assert await api.invoices() == []
    # A request may override the plan's trial, including to none at all.
    no_trial = await api.subscribe(await api.customer(email="b@example.com"), plan, trial_period_days=0)
    assert no_trial["status"] == "active" and no_trial["trial_end"] is None


async def test_invoice_numbers_are_sequential_and_gap_free_per_tenant(api: Api) -> None:
    plan = await api.plan()
    customers = [await api.customer(email=f"c{i}@example.com") for i in range(12)]
    # Concurrent subscribers all take numbers from the same tenant counter.
    await asyncio.gather(*(api.subscribe(c, plan) for c in customers))
    numbers = sorted(inv["number"] for inv in await api.invoices())
    assert numbers == list(range(1, 13))
    other = await api.as_new_tenant()
    await other.subscribe(await other.customer(), await other.plan())
    assert [inv["number"] for inv in await other.invoices()] == [1]


async def test_a_failed_subscription_writes_nothing_and_takes_no_number(api: Api) -> None:
    customer = await api.customer()
    plan = await api.plan()
    for body in (
        {"customer_id": "cus_missing", "plan_id": plan["id"]},
        {"customer_id": customer["id"], "plan_id": "plan_missing"},
        {"customer_id": customer["id"], "plan_id": plan["id"], "trial_period_days": -3},
        {"customer_id": customer["id"]},
    ):
        reply = await api.post("/v1/subscriptions", body)
        assert reply.status in (404, 422), (body, reply)
    assert (await api.get("/v1/subscriptions"))["data"] == []
    await api.subscribe(customer, plan)
    assert [inv["number"] for inv in await api.invoices()] == [1]


async def test_list_subscriptions_filters_by_customer_and_status(api: Api, clock: FrozenClock) -> None:
    plan = await api.plan()
    trial_plan = await api.plan(code="trial", trial_period_days=7)
    ada, bob = await api.customer(), await api.customer(email="bob@example.com")
    a = await api.subscribe(ada, plan)
    b = await api.subscribe(bob, trial_plan)
    by_customer = await api.get("/v1/subscriptions", customer_id=ada["id"])
    assert [s["id"] for s in by_customer["data"]] == [a["id"]]
    trialing = await api.get("/v1/subscriptions", status="trialing")
    assert [s["id"] for s in trialing["data"]] == [b["id"]]
    bad = await api.get("/v1/subscriptions", status="sleeping")
    assert bad.status == 422 and bad["errors"][0]["field"] == "status"
    assert (await api.get(f"/v1/subscriptions/{a['id']}")).body == a


async def test_subscribing_on_feb_29_anchors_to_the_leap_day(api: Api, clock: FrozenClock) -> None:
    clock.set(START.replace(year=2028, month=2, day=29))
    subscription = await api.subscribe(await api.customer(), await api.plan(code="yearly", interval="year"))
    assert subscription["current_period_end"] == "2029-02-28T10:00:00Z"
