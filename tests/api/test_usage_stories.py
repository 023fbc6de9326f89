"""Usage billing stories through test clocks, with exact amounts in USD (2 decimals), JPY (0)
and KWD (3). Usage is billed in arrears: the invoice renewing a period carries the plan's
fee for the new period and the usage lines of the period that just ended."""

from __future__ import annotations

from typing import Any

from tests.client import Api

CURRENCIES = {"USD": "0.25", "JPY": "0.3", "KWD": "2.5"}  # graduated: the second tier's unit amount


async def _meter(api: Api, code: str, aggregation: str, value_property: str | None = None) -> None:
    body: dict[str, Any] = {"code": code, "name": code.title(), "aggregation": aggregation}
    if value_property:
        body["value_property"] = value_property
    assert (await api.post("/v1/meters", body)).status == 201


async def _send(api: Api, events: list[dict]) -> list[str]:
    reply = await api.post("/v1/usage_events/batch", {"events": events})
    assert reply.status == 200, reply
    return [r["status"] for r in reply.body["results"]]


def _usage_lines(invoice: dict) -> list[int]:
    return [
        line["amount"]
        for line in invoice["lines"]
        if line["plan_id"] and "(" in line["description"] and ":" in line["description"]
    ]


async def _invoice_at(api: Api, subscription: dict, created_at: str) -> dict:
    [invoice] = [i for i in await api.invoices(subscription_id=subscription["id"]) if i["created_at"] == created_at]
    reply = await api.get(f"/v1/invoices/{invoice['id']}")
    return reply.body


async def test_graduated_api_calls_over_three_periods(api: Api) -> None:
    await api.settings(grace_period_days=365)
    await _meter(api, "api-calls", "sum", "calls")
    clock = await api.test_clock("2026-03-01T00:00:00Z")
    subs = {}
    for currency, unit in CURRENCIES.items():
        tiers = [
            {"up_to": 1000, "unit_amount": 0},
            {"up_to": 10000, "unit_amount": unit},
            {"up_to": "inf", "unit_amount": "0.1", "flat_amount": 500},
        ]
        plan = await api.plan(
            code=f"api-{currency}",
            amount=1000,
            currency=currency,
            usage_charges=[{"meter": "api-calls", "model": "graduated", "tiers": tiers}],
        )
        customer = await api.customer(email=f"{currency}@example.com", test_clock=clock["id"], external_id=currency)
        subs[currency] = await api.subscribe(customer, plan)

    months = [("03", "04"), ("04", "05"), ("05", "06")]
    # 1002 (two calls in tier 2), 10000 (exactly at up_to), 10001 (one call in tier 3 + its flat fee)
    quantities = [(1000, 2), (9999, 1), (10000, 1)]
    for n, ((month, following), split) in enumerate(zip(months, quantities)):
        await api.advance(clock, f"2026-{month}-15T00:00:00Z")
        events = [
            {
                "id": f"{c}-{n}-{k}",
                "customer": c,
                "meter": "api-calls",
                "timestamp": f"2026-{month}-1{k}T00:00:00Z",
                "properties": {"calls": calls},
            }
            for c in CURRENCIES
            for k, calls in enumerate(split)
        ]
        assert await _send(api, events) == ["accepted"] * len(events)
        if n == 1:  # usage so far shows on the upcoming invoice and the usage read
            upcoming = await api.get(f"/v1/subscriptions/{subs['USD']['id']}/upcoming_invoice")
            assert [line["amount"] for line in upcoming.body["lines"]] == [1000, 2250]
            usage = await api.get(f"/v1/customers/{subs['USD']['customer_id']}/usage")
            assert usage.body["data"] == [
                {"meter": "api-calls", "aggregation": "sum", "quantity": "10000", "events": 2}
            ]
        await api.advance(clock, f"2026-{following}-01T12:00:00Z")

    expected = {
        # 2 x 0.25 = 0.5 -> 1 (half-up); 9000 x 0.25; 9000 x 0.25 + 0.1 + 500 = 2750.1 -> 2750
        "USD": [1, 2250, 2750],
        # 2 x 0.3 = 0.6 -> 1; 9000 x 0.3; 2700 + 0.1 + 500 -> 3200
        "JPY": [1, 2700, 3200],
        # 2 x 2.5 = 5; 9000 x 2.5; 22500 + 0.1 + 500 -> 23000
        "KWD": [5, 22500, 23000],
    }
    for currency, amounts in expected.items():
        invoices = [await _invoice_at(api, subs[currency], f"2026-{following}-01T00:00:00Z") for _, following in months]
        assert [[line["amount"] for line in i["lines"]] for i in invoices] == [[1000, a] for a in amounts], currency
        assert [i["total"] for i in invoices] == [1000 + a for a in amounts]
        assert invoices[2]["lines"][1]["period_start"] == "2026-05-01T00:00:00Z"
        assert invoices[2]["lines"][1]["period_end"] == "2026-06-01T00:00:00Z"
    # An event in a period already invoiced is refused.
    late = {
        "id": "late",
        "customer": "USD",
        "meter": "api-calls",
        "timestamp": "2026-05-20T00:00:00Z",
        "properties": {"calls": 1},
    }
    reply = await api.post("/v1/usage_events/batch", {"events": [late]})
    assert reply.body["results"][0]["status"] == "rejected"
    assert "already issued" in reply.body["results"][0]["reason"]


async def test_package_unique_count_and_a_mid_period_cancel(api: Api) -> None:
    await api.settings(grace_period_days=365)
    await _meter(api, "messages", "count")
    await _meter(api, "active-users", "unique_count", "user_id")
    clock = await api.test_clock("2026-03-01T00:00:00Z")
    subs = {}
    # package: 100 messages per package; unique users per_unit
    prices = {"USD": ("50", "199.5"), "JPY": ("7", "30"), "KWD": ("125", "0.5")}
    for currency, (package, per_user) in prices.items():
        plan = await api.plan(
            code=f"msg-{currency}",
            amount=0,
            currency=currency,
            usage_charges=[
                {"meter": "messages", "model": "package", "package_size": 100, "unit_amount": package},
                {"meter": "active-users", "model": "per_unit", "unit_amount": per_user},
            ],
        )
        customer = await api.customer(email=f"{currency}@example.com", test_clock=clock["id"], external_id=currency)
        subs[currency] = await api.subscribe(customer, plan)
    await api.advance(clock, "2026-03-20T00:00:00Z")
    events = [
        {"id": f"m-{c}-{k}", "customer": c, "meter": "messages", "timestamp": "2026-03-19T00:00:00Z", "properties": {}}
        for c in prices
        for k in range(201)  # 201 messages: 3 packages
    ] + [
        {
            "id": f"u-{c}-{k}",
            "customer": c,
            "meter": "active-users",
            "timestamp": f"2026-03-1{k}T00:00:00Z",
            "properties": {"user_id": user},
        }
        for c in prices
        for k, user in enumerate(["ada", "bob", "ada", "cy", "bob"])  # 3 distinct users
    ]
    assert set(await _send(api, events)) == {"accepted"}

    # USD is canceled now, mid-period: its usage so far is billed at once.
    canceled = await api.post(f"/v1/subscriptions/{subs['USD']['id']}/cancel", {"at_period_end": False})
    assert canceled.status == 200, canceled
    [closing] = [
        i for i in await api.invoices(subscription_id=subs["USD"]["id"]) if i["billing_reason"] == "subscription_update"
    ]
    closing = (await api.get(f"/v1/invoices/{closing['id']}")).body
    # 3 x 50 = 150; 3 x 199.5 = 598.5 -> 599 (half-up, once per line)
    assert [line["amount"] for line in closing["lines"]] == [150, 599]
    assert (closing["period_start"], closing["period_end"]) == ("2026-03-01T00:00:00Z", "2026-03-20T00:00:00Z")
    after = {
        "id": "after",
        "customer": "USD",
        "meter": "messages",
        "timestamp": "2026-03-19T12:00:00Z",
        "properties": {},
    }
    assert await _send(api, [after]) == ["rejected"]

    await api.advance(clock, "2026-04-02T00:00:00Z")
    # JPY: 3 x 7 = 21; 3 x 30 = 90. KWD: 3 x 125 = 375; 3 x 0.5 = 1.5 -> 2.
    for currency, amounts in {"JPY": [0, 21, 90], "KWD": [0, 375, 2]}.items():
        invoice = await _invoice_at(api, subs[currency], "2026-04-01T00:00:00Z")
        assert [line["amount"] for line in invoice["lines"]] == amounts, currency
        assert invoice["total"] == sum(amounts)
    # USD's canceled subscription bills nothing more.
    assert len(await api.invoices(subscription_id=subs["USD"]["id"])) == 2


async def test_a_plan_change_bills_the_old_plans_usage_once(api: Api) -> None:
    await api.settings(grace_period_days=365)
    await _meter(api, "calls", "count")
    clock = await api.test_clock("2026-03-01T00:00:00Z")
    old = await api.plan(
        code="old", amount=0, usage_charges=[{"meter": "calls", "model": "per_unit", "unit_amount": "2.5"}]
    )
    new = await api.plan(
        code="new", amount=0, usage_charges=[{"meter": "calls", "model": "per_unit", "unit_amount": 10}]
    )
    customer = await api.customer(test_clock=clock["id"], external_id="c")
    subscription = await api.subscribe(customer, old)
    await api.advance(clock, "2026-03-10T00:00:00Z")
    calls = [{"id": f"a{k}", "customer": "c", "meter": "calls", "timestamp": "2026-03-05T00:00:00Z"} for k in range(3)]
    assert await _send(api, calls) == ["accepted"] * 3
    changed = await api.post(
        f"/v1/subscriptions/{subscription['id']}/change_plan", {"plan_id": new["id"], "proration": "none"}
    )
    assert changed.status == 200, changed
    [closing] = [
        i
        for i in await api.invoices(subscription_id=subscription["id"])
        if i["billing_reason"] == "subscription_update"
    ]
    assert closing["total"] == 8  # 3 x 2.5 = 7.5 -> 8, under the old plan
    later = [{"id": "b1", "customer": "c", "meter": "calls", "timestamp": "2026-03-12T00:00:00Z"}]
    await api.advance(clock, "2026-03-15T00:00:00Z")
    assert await _send(api, later) == ["accepted"]
    await api.advance(clock, "2026-04-01T12:00:00Z")
    renewal = await _invoice_at(api, subscription, "2026-04-01T00:00:00Z")
    # Only the usage after the change, at the new price; the period starts at the change.
    assert [line["amount"] for line in renewal["lines"]] == [0, 10]
    assert renewal["lines"][1]["period_start"] == "2026-03-10T00:00:00Z"


async def test_cancel_now_bills_usage_and_pending_prorations_on_one_final_invoice(api: Api) -> None:
    await api.settings(grace_period_days=365)
    await _meter(api, "calls", "count")
    clock = await api.test_clock("2026-03-01T00:00:00Z")
    # per currency: (the small and big plans' fees, the small and big per-call unit amounts)
    terms = {"USD": (3100, 6200, "1.5", "2.5"), "JPY": (3100, 6200, "0.2", "0.3"), "KWD": (31000, 62000, "3", "12.25")}
    subs = {}
    for currency, (small_fee, big_fee, small_unit, big_unit) in terms.items():
        small, big = [
            await api.plan(
                code=f"{size}-{currency}",
                amount=fee,
                currency=currency,
                usage_charges=[{"meter": "calls", "model": "per_unit", "unit_amount": unit}],
            )
            for size, fee, unit in (("small", small_fee, small_unit), ("big", big_fee, big_unit))
        ]
        customer = await api.customer(email=f"{currency}@example.com", test_clock=clock["id"], external_id=currency)
        subs[currency] = (await api.subscribe(customer, small), big)

    def calls(prefix: str, day: str, count: int) -> list[dict]:
        return [
            {"id": f"{prefix}-{c}-{k}", "customer": c, "meter": "calls", "timestamp": f"2026-03-{day}T00:00:00Z"}
            for c in terms
            for k in range(count)
        ]

    await api.advance(clock, "2026-03-11T00:00:00Z")
    assert set(await _send(api, calls("small", "05", 3))) == {"accepted"}
    # Mar 11: an upgrade for the 21 days left of 31, prorations pending for the next invoice;
    # the small plan's usage so far is billed by the change.
    for sub, big in subs.values():
        body = {"plan_id": big["id"], "proration": "create_prorations"}
        assert (await api.post(f"/v1/subscriptions/{sub['id']}/change_plan", body)).status == 200
    await api.advance(clock, "2026-03-21T00:00:00Z")
    assert set(await _send(api, calls("big", "15", 5))) == {"accepted"}
    for sub, _ in subs.values():
        assert (await api.post(f"/v1/subscriptions/{sub['id']}/cancel", {"at_period_end": False})).status == 200

    expected = {
        # 3 x 1.5 = 4.5 -> 5; then 5 x 2.5 = 12.5 -> 13, -21/31 x 3100 = -2100, 21/31 x 6200 = 4200
        "USD": (5, [13, -2100, 4200]),
        # 3 x 0.2 = 0.6 -> 1; then 5 x 0.3 = 1.5 -> 2, -2100, 4200
        "JPY": (1, [2, -2100, 4200]),
        # 3 x 3 = 9; then 5 x 12.25 = 61.25 -> 61, -21/31 x 31000 = -21000, 21/31 x 62000 = 42000
        "KWD": (9, [61, -21000, 42000]),
    }
    for currency, (change_usage, final_lines) in expected.items():
        sub, _ = subs[currency]
        invoices = sorted(await api.invoices(subscription_id=sub["id"]), key=lambda i: i["created_at"])
        assert [(i["billing_reason"], i["created_at"]) for i in invoices] == [
            ("subscription_create", "2026-03-01T00:00:00Z"),
            ("subscription_update", "2026-03-11T00:00:00Z"),
            ("subscription_update", "2026-03-21T00:00:00Z"),
        ], currency
        _, change, final = [(await api.get(f"/v1/invoices/{i['id']}")).body for i in invoices]
        assert [line["amount"] for line in change["lines"]] == [change_usage], currency
        assert [line["amount"] for line in final["lines"]] == final_lines, currency
        assert [line["proration"] for line in final["lines"]] == [False, True, True]
        usage_line = final["lines"][0]
        assert (usage_line["period_start"], usage_line["period_end"]) == (
            "2026-03-11T00:00:00Z",
            "2026-03-21T00:00:00Z",
        )
        assert (final["total"], final["currency"]) == (sum(final_lines), currency)
        assert (final["period_start"], final["period_end"]) == ("2026-03-11T00:00:00Z", "2026-04-01T00:00:00Z")
        ended = await api.subscription(sub)
        assert (ended["status"], ended["ended_at"]) == ("canceled", "2026-03-21T00:00:00Z")


async def test_a_plan_change_invoiced_at_once_bills_usage_and_prorations_on_one_invoice(api: Api) -> None:
    await api.settings(grace_period_days=365)
    await _meter(api, "calls", "count")
    clock = await api.test_clock("2026-03-01T00:00:00Z")
    terms = {"USD": (3100, 6200, "1.5"), "JPY": (3100, 6200, "0.2"), "KWD": (31000, 62000, "3")}
    subs = {}
    for currency, (small_fee, big_fee, unit) in terms.items():
        charges = [{"meter": "calls", "model": "per_unit", "unit_amount": unit}]
        small = await api.plan(code=f"small-{currency}", amount=small_fee, currency=currency, usage_charges=charges)
        big = await api.plan(code=f"big-{currency}", amount=big_fee, currency=currency, usage_charges=charges)
        customer = await api.customer(email=f"{currency}@example.com", test_clock=clock["id"], external_id=currency)
        subs[currency] = (await api.subscribe(customer, small), big)
    await api.advance(clock, "2026-03-11T00:00:00Z")
    calls = [
        {"id": f"{c}-{k}", "customer": c, "meter": "calls", "timestamp": "2026-03-05T00:00:00Z"}
        for c in terms
        for k in range(3)
    ]
    assert set(await _send(api, calls)) == {"accepted"}
    for sub, big in subs.values():
        body = {"plan_id": big["id"], "proration": "always_invoice"}
        assert (await api.post(f"/v1/subscriptions/{sub['id']}/change_plan", body)).status == 200
    # usage of the small plan (3 calls), then the prorations for the 21 days left of 31
    expected = {"USD": [5, -2100, 4200], "JPY": [1, -2100, 4200], "KWD": [9, -21000, 42000]}
    for currency, lines in expected.items():
        sub, _ = subs[currency]
        updates = [
            i for i in await api.invoices(subscription_id=sub["id"]) if i["billing_reason"] != "subscription_create"
        ]
        assert len(updates) == 1, (currency, updates)
        update = (await api.get(f"/v1/invoices/{updates[0]['id']}")).body
        assert [line["amount"] for line in update["lines"]] == lines, currency
        assert (update["total"], update["created_at"]) == (sum(lines), "2026-03-11T00:00:00Z")
        assert (update["period_start"], update["period_end"]) == ("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z")
