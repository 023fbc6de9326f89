"""Upgrades mid-period: proration by seconds left, rounded half-up once per line.

Every story starts a monthly subscription on 2026-04-01 (a 30-day April), so 20 days
left is exactly 2/3 of the period and 15 days left exactly 1/2.
"""

import pytest

from tests.client import Api


async def _upgrade(
    api: Api, *, currency: str, old: int, new: int, at: str, proration: str
) -> tuple[dict, dict, dict, dict]:
    await api.settings(grace_period_days=365)
    clock = await api.test_clock("2026-04-01T00:00:00Z")
    customer = await api.customer(test_clock=clock["id"])
    basic = await api.plan(code="basic", amount=old, currency=currency)
    pro = await api.plan(code="pro", amount=new, currency=currency)
    subscription = await api.subscribe(customer, basic)
    await api.advance(clock, at)
    changed = await api.post(
        f"/v1/subscriptions/{subscription['id']}/change_plan", {"plan_id": pro["id"], "proration": proration}
    )
    assert changed.status == 200, changed
    assert changed["plan_id"] == pro["id"]
    return clock, subscription, basic, pro


@pytest.mark.parametrize(
    ("currency", "old", "new", "at", "credit", "charge"),
    [
        ("USD", 1000, 3000, "2026-04-11T00:00:00Z", -667, 2000),  # 666.67 -> 667
        ("JPY", 1000, 2500, "2026-04-11T00:00:00Z", -667, 1667),  # 1666.67 -> 1667
        ("KWD", 5125, 12345, "2026-04-16T00:00:00Z", -2563, 6173),  # 2562.5 -> 2563, 6172.5 -> 6173
    ],
)
async def test_always_invoice_bills_the_proration_now(
    api: Api, currency: str, old: int, new: int, at: str, credit: int, charge: int
) -> None:
    _, subscription, basic, pro = await _upgrade(
        api, currency=currency, old=old, new=new, at=at, proration="always_invoice"
    )
    [update] = [
        i
        for i in await api.invoices(subscription_id=subscription["id"])
        if i["billing_reason"] == "subscription_update"
    ]
    assert [(line["amount"], line["plan_id"], line["proration"]) for line in update["lines"]] == [
        (credit, basic["id"], True),
        (charge, pro["id"], True),
    ]
    assert update["total"] == credit + charge == sum(line["amount"] for line in update["lines"])
    assert (update["currency"], update["period_start"], update["period_end"]) == (currency, at, "2026-05-01T00:00:00Z")
    assert update["number"] == 2


async def test_create_prorations_adds_the_lines_to_the_next_renewal(api: Api) -> None:
    clock, subscription, basic, pro = await _upgrade(
        api, currency="USD", old=1000, new=3000, at="2026-04-11T00:00:00Z", proration="create_prorations"
    )
    assert len(await api.invoices(subscription_id=subscription["id"])) == 1  # nothing invoiced yet
    preview = await api.get(f"/v1/subscriptions/{subscription['id']}/upcoming_invoice")
    assert preview.status == 200
    assert [line["amount"] for line in preview["lines"]] == [3000, -667, 2000]
    assert (preview["total"], preview["period_start"], preview["period_end"]) == (
        4333,
        "2026-05-01T00:00:00Z",
        "2026-06-01T00:00:00Z",
    )
    assert len(await api.invoices(subscription_id=subscription["id"])) == 1  # the preview wrote nothing

    await api.advance(clock, "2026-05-01T00:00:00Z")
    renewal = [
        i for i in await api.invoices(subscription_id=subscription["id"]) if i["billing_reason"] == "subscription_cycle"
    ]
    assert len(renewal) == 1
    assert [(line["amount"], line["proration"]) for line in renewal[0]["lines"]] == [
        (3000, False),
        (-667, True),
        (2000, True),
    ]
    assert renewal[0]["total"] == 4333
    await api.advance(clock, "2026-06-01T00:00:00Z")  # the prorations are billed once only
    latest = max(await api.invoices(subscription_id=subscription["id"]), key=lambda i: i["number"])
    assert [line["amount"] for line in latest["lines"]] == [3000]


async def test_none_changes_the_price_from_the_next_period(api: Api) -> None:
    clock, subscription, _, _ = await _upgrade(
        api, currency="USD", old=1000, new=3000, at="2026-04-11T00:00:00Z", proration="none"
    )
    preview = await api.get(f"/v1/subscriptions/{subscription['id']}/upcoming_invoice")
    assert [line["amount"] for line in preview["lines"]] == [3000]
    await api.advance(clock, "2026-05-02T00:00:00Z")
    totals = [
        i["total"] for i in sorted(await api.invoices(subscription_id=subscription["id"]), key=lambda i: i["number"])
    ]
    assert totals == [1000, 3000]


async def test_a_downgrade_credit_larger_than_the_charge_leaves_nothing_due(api: Api) -> None:
    _, subscription, _, _ = await _upgrade(
        api, currency="USD", old=3000, new=1000, at="2026-04-11T00:00:00Z", proration="always_invoice"
    )
    [update] = [
        i
        for i in await api.invoices(subscription_id=subscription["id"])
        if i["billing_reason"] == "subscription_update"
    ]
    assert (update["total"], update["amount_due"], update["status"]) == (-2000 + 667, 0, "paid")


async def test_plan_changes_keep_the_currency_and_need_a_live_subscription(api: Api) -> None:
    customer = await api.customer()
    usd, eur = await api.plan(code="usd"), await api.plan(code="eur", currency="EUR")
    subscription = await api.subscribe(customer, usd)
    reply = await api.post(f"/v1/subscriptions/{subscription['id']}/change_plan", {"plan_id": eur["id"]})
    assert reply.status == 422 and reply["errors"][0]["field"] == "plan_id"
    assert (await api.post(f"/v1/subscriptions/{subscription['id']}/change_plan", {"plan_id": usd["id"]})).status == 409
    bad_mode = await api.post(
        f"/v1/subscriptions/{subscription['id']}/change_plan", {"plan_id": usd["id"], "proration": "sometimes"}
    )
    assert bad_mode.status == 422
    await api.post(f"/v1/subscriptions/{subscription['id']}/cancel", {})
    other = await api.plan(code="usd2")
    assert (
        await api.post(f"/v1/subscriptions/{subscription['id']}/change_plan", {"plan_id": other["id"]})
    ).status == 409
    assert (await api.subscription(subscription))["plan_id"] == usd["id"]


async def test_switching_to_a_yearly_plan_starts_the_new_cadence_at_period_end(api: Api) -> None:
    await api.settings(grace_period_days=365)
    clock = await api.test_clock("2026-04-01T00:00:00Z")
    subscription = await api.subscribe(await api.customer(test_clock=clock["id"]), await api.plan(code="m"))
    yearly = await api.plan(code="y", amount=10000, interval="year")
    await api.post(
        f"/v1/subscriptions/{subscription['id']}/change_plan", {"plan_id": yearly["id"], "proration": "none"}
    )
    await api.advance(clock, "2026-05-02T00:00:00Z")
    for invoice in await api.invoices(status="open"):
        await api.post(f"/v1/invoices/{invoice['id']}/pay")
    await api.advance(clock, "2027-06-01T00:00:00Z")
    assert await api.periods(subscription) == [
        ("2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z"),
        ("2026-05-01T00:00:00Z", "2027-05-01T00:00:00Z"),
        ("2027-05-01T00:00:00Z", "2028-05-01T00:00:00Z"),
    ]
