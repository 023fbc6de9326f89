"""The money objects' events (issue 12 for issue 13's objects), the subscription's discount
on every rendering of a subscription, and plan updates (default_tax_rates).

Each event's `data.object` is compared with what the API renders for that object (GET, or
the response of the request that made it)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.client import Api


async def test_tax_rates_coupons_and_promotion_codes_emit_their_events(api: Api) -> None:
    rate = await api.post("/v1/tax_rates", {"display_name": "VAT", "percentage": 19, "inclusive": False})
    assert rate.status == 201, rate
    assert (await api.patch(f"/v1/tax_rates/{rate['id']}", {"active": False})).status == 200
    assert (await api.patch(f"/v1/tax_rates/{rate['id']}", {"active": False})).status == 200  # no change: no event
    created, updated = await api.events(object_id=rate["id"])
    assert (created["type"], created["data"]["object"]) == ("tax_rate.created", rate.body)
    assert updated["type"] == "tax_rate.updated"
    assert updated["data"]["object"] == (await api.get(f"/v1/tax_rates/{rate['id']}")).body
    assert updated["data"]["previous_attributes"] == {"active": True}
    assert created["request"]["id"] and created["test_clock"] is None

    coupon = await api.post("/v1/coupons", {"id": "co_ten", "percent_off": 10, "duration": "forever"})
    assert coupon.status == 201, coupon
    code = await api.post("/v1/promotion_codes", {"coupon": "co_ten", "code": "TEN"})
    assert code.status == 201, code
    assert (await api.patch(f"/v1/promotion_codes/{code['id']}", {"active": False})).status == 200
    [code_created, code_updated] = await api.events(object_id=code["id"])
    assert (code_created["type"], code_created["data"]["object"]) == ("promotion_code.created", code.body)
    assert (code_updated["type"], code_updated["data"]["previous_attributes"]) == (
        "promotion_code.updated",
        {"active": True},
    )
    assert code_updated["data"]["object"] == (await api.get(f"/v1/promotion_codes/{code['id']}")).body

    for _ in range(2):  # deleting is idempotent: one event
        assert (await api.call("DELETE", "/v1/coupons/co_ten")).status == 200
    coupon_created, coupon_deleted = await api.events(object_id="co_ten")
    assert (coupon_created["type"], coupon_created["data"]["object"]) == ("coupon.created", coupon.body)
    assert coupon_deleted["type"] == "coupon.deleted"
    assert coupon_deleted["data"]["object"] == {**coupon.body, "valid": False}

    # The new types are known to webhook endpoints; a misspelt one is refused.
    # (This app refuses the loopback URL: only that is reported for the known types.)
    endpoint = {"url": "http://127.0.0.1:9/hook", "enabled_events": ["coupon.created", "customer.discount.*"]}
    known = await api.post("/v1/webhook_endpoints", endpoint)
    assert known.status == 422 and "unknown event type" not in str(known.body), known
    misspelt = await api.post("/v1/webhook_endpoints", {**endpoint, "enabled_events": ["coupon.create"]})
    assert misspelt.status == 422, misspelt
    assert "unknown event type 'coupon.create'" in str(misspelt.body)


async def test_a_subscription_shows_its_discount_and_discounts_emit_events(api: Api) -> None:
    clock = await api.test_clock("2026-04-01T00:00:00Z")
    customer = await api.customer(test_clock=clock["id"])
    plan = await api.plan(amount=1000)
    three = await api.post("/v1/coupons", {"id": "co_three", "percent_off": 20, "duration": "repeating",
                                           "duration_in_periods": 3})  # fmt: skip
    assert three.status == 201, three
    code = await api.post("/v1/promotion_codes", {"coupon": "co_three", "code": "THREE"})
    subscription = await api.subscribe(customer, plan, promotion_code=code["id"])
    discount = subscription["discount"]
    assert discount is not None
    assert (discount["coupon"], discount["promotion_code"], discount["periods_left"]) == ("co_three", code["id"], 2)
    assert (discount["created_at"], discount["ended_at"]) == ("2026-04-01T00:00:00Z", None)
    # GET, the list, and the subscription's event render it alike (one statement: hot read).
    assert await api.subscription(subscription) == subscription.copy()
    [listed] = (await api.get("/v1/subscriptions", customer_id=customer["id"]))["data"]
    assert listed == subscription
    [created] = await api.events(object_id=subscription["id"])
    assert created["data"]["object"] == subscription
    [applied] = await api.events(object_id=discount["id"])
    assert (applied["type"], applied["data"]["object"], applied["test_clock"]) == (
        "customer.discount.created",
        discount,
        clock["id"],
    )

    await api.advance(clock, "2026-05-01T00:00:00Z")  # a renewal uses a period of it
    renewed = await api.subscription(subscription)
    assert renewed["discount"]["periods_left"] == 1
    renewal = [e for e in await api.events(object_id=subscription["id"]) if e["type"] == "subscription.renewed"]
    assert renewal[0]["data"]["object"]["discount"] == renewed["discount"]

    # Replaced: the running one is deleted, the new one created; the subscription shows it.
    forever = await api.post("/v1/coupons", {"id": "co_forever", "amount_off": 100, "currency": "USD",
                                             "duration": "forever"})  # fmt: skip
    assert forever.status == 201, forever
    replaced = await api.post(f"/v1/subscriptions/{subscription['id']}/discount", {"coupon": "co_forever"})
    assert replaced.status == 200, replaced
    [ended] = await api.events(object_id=discount["id"], type="customer.discount.deleted")
    assert ended["data"]["object"] == {**discount, "periods_left": 1, "ended_at": "2026-05-01T00:00:00Z"}
    assert (await api.subscription(subscription))["discount"] == replaced.body
    paused = await api.post(f"/v1/subscriptions/{subscription['id']}/pause")  # an ORM-rendered response
    assert (paused.status, paused["discount"]) == (200, replaced.body)
    [paused_event] = await api.events(object_id=subscription["id"], type="subscription.paused")
    assert paused_event["data"]["object"] == paused.body

    removed = await api.call("DELETE", f"/v1/subscriptions/{subscription['id']}/discount")
    assert removed.status == 200, removed
    assert await api.event_types(replaced["id"]) == ["customer.discount.created", "customer.discount.deleted"]
    assert (await api.subscription(subscription))["discount"] is None
    [listed] = (await api.get("/v1/subscriptions", customer_id=customer["id"]))["data"]
    assert listed["discount"] is None


async def _ledger(api: Api, customer_id: str) -> list[dict[str, Any]]:
    reply = await api.get(f"/v1/customers/{customer_id}/balance_transactions", limit=100)
    assert reply.status == 200, reply
    return list(reversed(reply["data"]))


async def test_every_ledger_row_emits_customer_balance_transaction_created(api: Api) -> None:
    """A manual adjustment, the credit of a negative invoice (a request's invoice) and the
    credit the renewal applies (its set-based ledger rows): one event each, rendering the
    ledger row as the API lists it."""
    await api.settings(grace_period_days=365)
    clock = await api.test_clock("2026-04-01T00:00:00Z")
    customer = await api.customer(test_clock=clock["id"])
    big = await api.plan(code="big", amount=30000, currency="KWD")
    small = await api.plan(code="small", amount=10000, currency="KWD")
    subscription = await api.subscribe(customer, big)
    adjustment = await api.post(
        f"/v1/customers/{customer['id']}/balance_transactions", {"amount": -1500, "currency": "KWD"}
    )
    assert adjustment.status == 201, adjustment
    await api.advance(clock, "2026-04-11T00:00:00Z")
    changed = await api.post(
        f"/v1/subscriptions/{subscription['id']}/change_plan", {"plan_id": small["id"], "proration": "always_invoice"}
    )
    assert changed.status == 200, changed
    await api.advance(clock, "2026-05-01T00:00:00Z")  # the renewal applies the credit

    ledger = await _ledger(api, customer["id"])
    # 20 of 30 days: -20.000 credit, +6.667 charge (-13.333), with -1.500 before it: -14.833.
    assert [(t["type"], t["amount"]) for t in ledger] == [
        ("adjustment", -1500),
        ("proration_credit", -13333),
        ("invoice_applied", 10000),
    ]
    events = await api.events(type="customer.balance_transaction.created")
    assert [e["data"]["object"] for e in events] == ledger
    assert [e["data"]["object"] for e in events][0] == adjustment.body
    for transaction in ledger:  # found by the ledger row's id
        [event] = await api.events(object_id=transaction["id"])
        assert event["test_clock"] == clock["id"] and event["created"] == transaction["created_at"]
    assert [e["renewal_run"] is not None for e in events] == [False, False, True]
    assert events[1]["request"]["id"] and events[2]["request"] is None


@pytest.mark.parametrize(
    ("currency", "amount", "tax"),
    [("USD", 1999, 380), ("JPY", 999, 190), ("KWD", 19999, 3800)],  # 19% exclusive, half-up per line
)
async def test_a_plans_default_tax_rates_can_be_updated(api: Api, currency: str, amount: int, tax: int) -> None:
    vat = await api.post("/v1/tax_rates", {"display_name": "VAT", "percentage": 19, "inclusive": False})
    archived = await api.post("/v1/tax_rates", {"display_name": "Old", "percentage": 5, "inclusive": False,
                                                "active": False})  # fmt: skip
    other = await (await api.as_new_tenant()).post(
        "/v1/tax_rates", {"display_name": "Theirs", "percentage": 7, "inclusive": False}
    )
    plan = await api.plan(amount=amount, currency=currency)
    path = f"/v1/plans/{plan['id']}"
    for body, status in (
        ({"default_tax_rates": [other["id"]]}, 404),  # another tenant's
        ({"default_tax_rates": ["txr_nope"]}, 404),
        ({"default_tax_rates": [archived["id"]]}, 409),
        ({"default_tax_rates": [vat["id"], vat["id"]]}, 422),
        ({"amount": 1}, 422),  # the price never changes
    ):
        refused = await api.patch(path, body)
        assert refused.status == status, (body, refused)
        assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert (await api.get(path)).body == plan  # nothing changed
    updated = await api.patch(path, {"name": "Pro 2026", "default_tax_rates": [vat["id"]]})
    assert updated.status == 200, updated
    assert (updated["name"], updated["default_tax_rates"]) == ("Pro 2026", [vat["id"]])
    assert (await api.get(path)).body == updated.body
    [event] = await api.events(object_id=plan["id"], type="plan.updated")
    assert event["data"]["object"] == updated.body
    assert event["data"]["previous_attributes"] == {"name": plan["name"], "default_tax_rates": []}

    subscription = await api.subscribe(await api.customer(), plan)
    [invoice] = await api.invoices(subscription_id=subscription["id"])
    assert (invoice["subtotal"], invoice["tax"], invoice["total"]) == (amount, tax, amount + tax)
    assert [t["tax_rate"] for t in invoice["total_tax_amounts"]] == [vat["id"]]
    cleared = await api.patch(path, {"default_tax_rates": []})
    assert (cleared.status, cleared["default_tax_rates"]) == (200, [])


async def test_a_used_up_discount_ends_with_customer_discount_deleted(api: Api) -> None:
    """A `once` coupon is used up by the first invoice (the request's); a two-period one by
    the first renewal (the engine's set-based write): each emits customer.discount.deleted."""
    clock = await api.test_clock("2026-04-01T00:00:00Z")
    customer = await api.customer(test_clock=clock["id"])
    plan = await api.plan(amount=1000)
    for body in (
        {"id": "co_once", "percent_off": 50, "duration": "once"},
        {"id": "co_two", "percent_off": 50, "duration": "repeating", "duration_in_periods": 2},
    ):
        assert (await api.post("/v1/coupons", body)).status == 201
    once = await api.subscribe(customer, plan, coupon="co_once")
    two = await api.subscribe(customer, plan, coupon="co_two")
    assert once["discount"] is None and (await api.subscription(once))["discount"] is None  # used up at once
    [(created, deleted)] = [
        (a, d)
        for a in await api.events(type="customer.discount.created")
        for d in await api.events(type="customer.discount.deleted")
        if a["data"]["object"]["subscription"] == once["id"] == d["data"]["object"]["subscription"]
    ]
    assert created["data"]["object"]["id"] == deleted["data"]["object"]["id"]
    assert (deleted["data"]["object"]["periods_left"], deleted["data"]["object"]["ended_at"]) == (
        0,
        "2026-04-01T00:00:00Z",
    )
    assert deleted["request"]["id"] and deleted["sequence"] > created["sequence"]

    assert two["discount"]["periods_left"] == 1
    await api.advance(clock, "2026-05-01T00:00:00Z")  # the renewal uses its last period
    assert (await api.subscription(two))["discount"] is None
    [ended] = await api.events(object_id=two["discount"]["id"], type="customer.discount.deleted")
    assert ended["data"]["object"] == {**two["discount"], "periods_left": 0, "ended_at": "2026-05-01T00:00:00Z"}
    assert (ended["created"], ended["test_clock"]) == ("2026-05-01T00:00:00Z", clock["id"])
    assert ended["renewal_run"] is not None
    invoices = sorted(await api.invoices(subscription_id=two["id"]), key=lambda i: i["number"])
    assert [i["total"] for i in invoices] == [500, 500]  # both periods discounted, then it ended
