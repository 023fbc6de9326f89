"""Coupons and promotion codes: a 20% coupon for 3 periods on a monthly plan; a fixed 5.00
coupon on a JPY plan (refused: currency) and on a USD plan (with VAT on the discounted
amount); the discount endpoints; exact redemption counting under concurrency; codes that
cannot be redeemed change nothing. Exact amounts in USD, JPY and KWD."""

import asyncio

import pytest

from tests.client import Api


async def _totals(api: Api, subscription_id: str) -> list[tuple[str, int, int, int]]:
    invoices = sorted(await api.invoices(subscription_id=subscription_id), key=lambda i: i["number"])
    return [
        (i["period_start"][:10], i["subtotal"], sum(d["amount"] for d in i["total_discount_amounts"]), i["total"])
        for i in invoices
    ]


@pytest.mark.parametrize(
    ("currency", "price", "off"),
    [("USD", 1999, 400), ("JPY", 999, 200), ("KWD", 19999, 4000)],  # 20%: 399.8, 199.8, 3999.8 half-up
)
async def test_a_20_percent_coupon_for_3_periods_on_a_monthly_plan(
    api: Api, currency: str, price: int, off: int
) -> None:
    created = await api.post(
        "/v1/coupons", {"name": "Welcome", "percent_off": 20, "duration": "repeating", "duration_in_periods": 3}
    )
    assert created.status == 201 and created["percent_off"] == 20, created
    await api.settings(grace_period_days=365)
    clock = await api.test_clock("2026-04-01T00:00:00Z")
    customer = await api.customer(test_clock=clock["id"])
    plan = await api.plan(amount=price, currency=currency)
    subscription = await api.subscribe(customer, plan, coupon=created["id"])
    upcoming = await api.get(f"/v1/subscriptions/{subscription['id']}/upcoming_invoice")
    assert (upcoming["total"], upcoming["total_discount_amounts"][0]["amount"]) == (price - off, off)
    await api.advance(clock, "2026-07-01T00:00:01Z")
    discounted = price - off
    assert await _totals(api, subscription["id"]) == [
        ("2026-04-01", price, off, discounted),
        ("2026-05-01", price, off, discounted),
        ("2026-06-01", price, off, discounted),
        ("2026-07-01", price, 0, price),  # three billing periods, then the full price
    ]
    [line] = (await api.invoices(subscription_id=subscription["id"]))[-1]["lines"]
    assert line["discount_amounts"] == [] or line["discount_amounts"][0]["amount"] == off
    assert (await api.get(f"/v1/coupons/{created['id']}"))["times_redeemed"] == 1


async def test_a_fixed_coupon_applies_only_in_its_currency_and_before_tax(api: Api) -> None:
    five = await api.post("/v1/coupons", {"id": "co_five", "amount_off": 500, "currency": "USD", "duration": "once"})
    assert five.status == 201, five
    vat = await api.post("/v1/tax_rates", {"display_name": "VAT", "percentage": 19, "inclusive": False})
    customer = await api.customer()
    yen = await api.plan(code="yen", amount=999, currency="JPY")
    refused = await api.post(
        "/v1/subscriptions", {"customer_id": customer["id"], "plan_id": yen["id"], "coupon": "co_five"}
    )
    assert refused.status == 409 and "JPY" in refused["detail"], refused
    assert (await api.get("/v1/subscriptions"))["data"] == [] and await api.invoices() == []
    assert (await api.get("/v1/coupons/co_five"))["times_redeemed"] == 0

    usd = await api.plan(code="usd", amount=1999, currency="USD", default_tax_rates=[vat["id"]])
    subscription = await api.subscribe(customer, usd, coupon="co_five")
    [invoice] = await api.invoices(subscription_id=subscription["id"])
    # 19.99 - 5.00 = 14.99; VAT 19% of 14.99 = 2.8481 -> 2.85; total 17.84
    assert (invoice["subtotal"], invoice["total_excluding_tax"], invoice["tax"], invoice["total"]) == (
        1999,
        1499,
        285,
        1784,
    )
    assert invoice["total_tax_amounts"][0]["taxable_amount"] == 1499
    assert invoice["lines"][0]["discount_amounts"][0]["amount"] == 500
    # "once": the next invoice is not discounted.
    upcoming = await api.get(f"/v1/subscriptions/{subscription['id']}/upcoming_invoice")
    assert (upcoming["total_discount_amounts"], upcoming["total"]) == ([], 1999 + 380)


async def test_discount_endpoints_and_codes_that_cannot_be_redeemed(api: Api) -> None:
    coupon = (await api.post("/v1/coupons", {"percent_off": 12.5, "duration": "forever"})).body
    customer = await api.customer()
    plan = await api.plan(amount=1000)
    subscription = await api.subscribe(customer, plan)
    path = f"/v1/subscriptions/{subscription['id']}/discount"
    code = await api.post(
        "/v1/promotion_codes", {"coupon": coupon["id"], "code": "Spring", "first_time_transaction": True}
    )
    assert code.status == 201, code
    duplicate = await api.post("/v1/promotion_codes", {"coupon": coupon["id"], "code": "SPRING"})
    assert duplicate.status == 409, duplicate  # codes are unique regardless of case
    assert [p["id"] for p in (await api.get("/v1/promotion_codes", code="spring"))["data"]] == [code["id"]]
    first_time = await api.post(path, {"promotion_code": code["id"]})
    assert first_time.status == 409 and "first" in first_time["detail"], first_time  # the customer has an invoice
    inactive = await api.patch(f"/v1/promotion_codes/{code['id']}", {"active": False})
    assert inactive.status == 200 and inactive["active"] is False
    expired = await api.post(
        "/v1/promotion_codes", {"coupon": coupon["id"], "code": "OLD", "expires_at": "2000-01-01T00:00:00Z"}
    )
    assert (await api.post(path, {"promotion_code": expired["id"]})).status == 409
    other_plan = await api.plan(code="other", amount=1000)
    narrow = await api.post(
        "/v1/coupons", {"percent_off": 50, "duration": "once", "applies_to": {"plans": [other_plan["id"]]}}
    )
    assert (await api.post(path, {"coupon": narrow["id"]})).status == 409  # not applicable to this plan
    assert (await api.get(f"/v1/coupons/{narrow['id']}"))["times_redeemed"] == 0
    assert (await api.post(path, {"coupon": coupon["id"], "promotion_code": code["id"]})).status == 422

    applied = await api.post(path, {"coupon": coupon["id"]})
    assert applied.status == 200 and applied["periods_left"] is None, applied
    upcoming = await api.get(f"/v1/subscriptions/{subscription['id']}/upcoming_invoice")
    assert upcoming["total"] == 875  # 12.5% of 10.00 = 1.25 off
    deleted = await api.call("DELETE", f"/v1/coupons/{coupon['id']}")
    assert deleted.status == 200 and deleted["valid"] is False
    assert (await api.get(f"/v1/coupons/{coupon['id']}")).status == 404
    assert (await api.get(f"/v1/subscriptions/{subscription['id']}/upcoming_invoice"))["total"] == 875  # keeps running
    assert (await api.post(path, {"coupon": coupon["id"]})).status == 409  # no new redemptions
    removed = await api.call("DELETE", path)
    assert removed.status == 200 and removed["ended_at"] is not None
    assert (await api.get(f"/v1/subscriptions/{subscription['id']}/upcoming_invoice"))["total"] == 1000
    assert (await api.call("DELETE", path)).status == 404


async def test_twenty_concurrent_redemptions_of_a_code_limited_to_five(api: Api) -> None:
    # Both limits at 5: each is counted by its own conditional UPDATE.
    coupon = (await api.post("/v1/coupons", {"percent_off": 10, "duration": "once", "max_redemptions": 5})).body
    code = (await api.post("/v1/promotion_codes", {"coupon": coupon["id"], "code": "FIVE", "max_redemptions": 5})).body
    plan = await api.plan(amount=1000)
    customers = [await api.customer(f"c{n}@example.com") for n in range(20)]
    replies = await asyncio.gather(
        *(
            api.post("/v1/subscriptions", {"customer_id": c["id"], "plan_id": plan["id"], "promotion_code": code["id"]})
            for c in customers
        )
    )
    assert sorted(r.status for r in replies) == [201] * 5 + [409] * 15, [r.status for r in replies]
    assert (await api.get(f"/v1/promotion_codes/{code['id']}"))["times_redeemed"] == 5
    assert (await api.get(f"/v1/coupons/{coupon['id']}"))["times_redeemed"] == 5
    assert len((await api.get("/v1/subscriptions", limit=100))["data"]) == 5
    assert sorted(i["total"] for i in await api.invoices()) == [900] * 5
