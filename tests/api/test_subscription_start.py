"""Starting a subscription without a coupon runs on fixed SQL (shared.db.subscription_start):
the same refusals, in the same order, writing nothing; the same tax rates chosen (the most
specific of subscription, plan, customer, tenant); a test clock's time."""

from __future__ import annotations

from tests.client import Api

MISSING_RATE = "txr_0000000000000000000000000"


async def rate(api: Api, percentage: float, name: str) -> str:
    reply = await api.post("/v1/tax_rates", {"display_name": name, "percentage": percentage, "inclusive": False})
    assert reply.status == 201, reply
    return reply["id"]


async def test_refusals_come_in_order_and_write_nothing(api: Api) -> None:
    plan = await api.plan()
    customer = await api.customer()
    archived = await rate(api, 7, "Old")
    assert (await api.patch(f"/v1/tax_rates/{archived}", {"active": False})).status == 200
    other = await api.as_new_tenant()
    foreign = await other.customer(email="x@example.com")

    async def start(customer_id: str, plan_id: str, **extra: object) -> tuple[int, str, str | None]:
        reply = await api.post("/v1/subscriptions", {"customer_id": customer_id, "plan_id": plan_id, **extra})
        errors = reply.body.get("errors") or [{}]
        return reply.status, str(reply.body.get("detail")), errors[0].get("field") or reply.body.get("field")

    status, detail, _ = await start("cus_nobody", "plan_nothing")
    assert status == 404 and "no such customer" in detail
    status, detail, _ = await start(foreign["id"], plan["id"])
    assert status == 404 and "no such customer" in detail
    status, detail, _ = await start(customer["id"], "plan_nothing")
    assert status == 404 and "no such plan" in detail
    status, detail, _ = await start(customer["id"], plan["id"], default_tax_rates=[archived, archived])
    assert status in (400, 422) and "listed twice" in detail, detail
    status, detail, _ = await start(customer["id"], plan["id"], default_tax_rates=[MISSING_RATE])
    assert status == 404 and "no such tax rate" in detail
    status, detail, _ = await start(customer["id"], plan["id"], default_tax_rates=[archived])
    assert status == 409 and "archived" in detail
    assert (await api.post(f"/v1/plans/{plan['id']}/archive")).status == 200
    status, detail, _ = await start(customer["id"], plan["id"])
    assert status == 409 and "archived" in detail
    assert (await api.get("/v1/subscriptions"))["data"] == []
    assert await api.invoices() == []


async def test_the_most_specific_tax_rates_apply_in_usd_jpy_and_kwd(api: Api) -> None:
    tenant_rate = await rate(api, 5, "Tenant")
    plan_rate = await rate(api, 10, "Plan")
    asked = await rate(api, 8.1234, "Asked")
    assert (await api.patch("/v1/settings", {"default_tax_rates": [tenant_rate]})).status == 200
    usd = await api.plan(code="usd", amount=1999, currency="USD")
    jpy = await api.plan(code="jpy", amount=1500, currency="JPY", default_tax_rates=[plan_rate])
    kwd = await api.plan(code="kwd", amount=12345, currency="KWD", default_tax_rates=[plan_rate])
    customer = await api.customer()
    cases = [
        # plan, requested rates -> the rate applied, tax, total (minor units, half up)
        (usd, [], tenant_rate, 100, 2099),  # 1999 x 5% = 99.95
        (jpy, [], plan_rate, 150, 1650),  # 1500 x 10%
        (kwd, [asked], asked, 1003, 13348),  # 12345 x 8.1234% = 1002.83
    ]
    for plan, requested, applied, tax, total in cases:
        subscription = await api.subscribe(customer, plan, default_tax_rates=requested)
        assert subscription["default_tax_rates"] == requested
        [invoice] = await api.invoices(subscription_id=subscription["id"])
        assert (invoice["currency"], invoice["subtotal"], invoice["tax"], invoice["total"]) == (
            plan["currency"],
            plan["amount"],
            tax,
            total,
        ), invoice
        assert [t["tax_rate"] for t in invoice["total_tax_amounts"]] == [applied], invoice
        assert invoice["lines"][0]["amount"] == plan["amount"]


async def test_a_test_clock_customer_starts_at_the_clock_time(api: Api) -> None:
    clock = await api.test_clock("2030-03-15T12:00:00Z")
    customer = await api.customer(test_clock=clock["id"])
    subscription = await api.subscribe(customer, await api.plan())
    assert subscription["test_clock"] == clock["id"] and subscription["livemode"] is False
    assert subscription["current_period_start"] == "2030-03-15T12:00:00Z"
    assert subscription["current_period_end"] == "2030-04-15T12:00:00Z"
    [invoice] = await api.invoices(subscription_id=subscription["id"])
    assert invoice["test_clock"] == clock["id"] and invoice["created_at"] == "2030-03-15T12:00:00Z"


async def test_the_start_events_carry_the_invoice_and_subscription_as_get_renders_them(api: Api) -> None:
    """The invoice's events are written before the statement that takes its number (which
    then fills the number in): their object is still exactly GET's, number included, in
    USD, JPY and KWD, with exclusive and inclusive taxes, reverse charge, nothing due (paid
    at once) and a test clock's own numbering."""
    exclusive = await rate(api, 8.1234, "Exclusive")
    included = await api.post("/v1/tax_rates", {"display_name": "Incl", "percentage": 19, "inclusive": True})
    inclusive = included["id"]
    clock = await api.test_clock("2030-03-15T12:00:00Z")
    ada = await api.customer()
    reverse = await api.customer(email="rc@example.com", tax_exempt="reverse")
    simulated = await api.customer(email="tc@example.com", test_clock=clock["id"])
    cases = [
        # customer, plan, requested rates -> number, tax, total, status (minor units, half up)
        (ada, await api.plan(code="usd", amount=1999), [exclusive], 1, 162, 2161, "open"),  # 1999 x 8.1234% = 162.39
        (ada, await api.plan(code="jpy", amount=1500, currency="JPY"), [inclusive], 2, 239, 1500, "open"),
        (ada, await api.plan(code="kwd", amount=12345, currency="KWD"), [exclusive], 3, 1003, 13348, "open"),
        (reverse, await api.plan(code="rc", amount=1000, currency="KWD"), [exclusive], 4, 0, 1000, "open"),
        (ada, await api.plan(code="free", amount=0), [], 5, 0, 0, "paid"),
        (simulated, await api.plan(code="sim", amount=999), [], 1, 0, 999, "open"),
    ]
    for customer, plan, requested, number, tax, total, status in cases:
        subscription = await api.subscribe(customer, plan, default_tax_rates=requested)
        [invoice] = await api.invoices(subscription_id=subscription["id"])
        got = (await api.get(f"/v1/invoices/{invoice['id']}")).body
        assert (got["number"], got["tax"], got["total"], got["status"]) == (number, tax, total, status), got
        events = await api.events(object_id=invoice["id"])
        paid = ["invoice.paid"] if status == "paid" else []
        assert [e["type"] for e in events] == ["invoice.created", "invoice.finalized", *paid]
        assert all(e["data"]["object"] == got for e in events), (events, got)
        [created] = await api.events(object_id=subscription["id"])
        assert created["type"] == "subscription.created"
        assert created["data"]["object"] == await api.subscription(subscription) == subscription
        assert created["sequence"] < events[0]["sequence"]
    assert got["tax_note"] is None and (await api.invoices(customer_id=reverse["id"]))[0]["tax_note"]
