"""Plans: prices in minor units of a real ISO 4217 currency, immutable once created."""

import pytest

from tests.client import Api


async def test_create_a_plan_in_each_kind_of_currency(api: Api) -> None:
    usd = await api.plan(code="pro", amount=1999, currency="usd")
    jpy = await api.plan(code="pro-jp", amount=2500, currency="JPY")
    kwd = await api.plan(code="pro-kw", amount=5125, currency="KWD", interval="year")
    assert (usd["currency"], usd["amount"], usd["interval_count"], usd["trial_period_days"]) == ("USD", 1999, 1, 0)
    assert (jpy["currency"], jpy["amount"]) == ("JPY", 2500)
    assert (kwd["interval"], kwd["active"]) == ("year", True)
    assert (await api.get(f"/v1/plans/{usd['id']}")).body == usd


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": -1}, "amount"),
        ({"amount": 19.99}, "amount"),
        ({"amount": "1999"}, "amount"),
        ({"amount": 10**16}, "amount"),
        ({"currency": "XXX"}, "currency"),
        ({"currency": "US"}, "currency"),
        ({"currency": "XAU"}, "currency"),
        ({"interval": "fortnight"}, "interval"),
        ({"interval_count": 0}, "interval_count"),
        ({"interval": "month", "interval_count": 37}, "(body)"),
        ({"interval": "year", "interval_count": 4}, "(body)"),
        ({"trial_period_days": -1}, "trial_period_days"),
        ({"code": "has spaces"}, "code"),
        ({"price": 5}, "price"),
    ],
)
async def test_bad_plans_are_rejected_and_nothing_is_written(api: Api, change: dict, field: str) -> None:
    body = {"code": "pro", "name": "Pro", "amount": 1999, "currency": "USD", "interval": "month", **change}
    reply = await api.post("/v1/plans", body)
    assert reply.status == 422, reply
    assert field in [error["field"] for error in reply["errors"]], reply
    assert (await api.get("/v1/plans"))["data"] == []


async def test_plan_codes_are_unique_per_tenant(api: Api) -> None:
    await api.plan(code="pro")
    reply = await api.post(
        "/v1/plans", {"code": "pro", "name": "Again", "amount": 1, "currency": "USD", "interval": "day"}
    )
    assert reply.status == 409
    other = await api.as_new_tenant()
    await other.plan(code="pro")  # another tenant may use the same code


async def test_archived_plan_takes_no_new_subscriptions_but_stays_readable(api: Api) -> None:
    plan = await api.plan()
    customer = await api.customer()
    archived = await api.post(f"/v1/plans/{plan['id']}/archive")
    assert archived.status == 200
    assert archived["active"] is False and archived["archived_at"] is not None
    again = await api.post(f"/v1/plans/{plan['id']}/archive")
    assert again.status == 200 and again["archived_at"] == archived["archived_at"]
    reply = await api.post("/v1/subscriptions", {"customer_id": customer["id"], "plan_id": plan["id"]})
    assert reply.status == 409
    assert (await api.get("/v1/subscriptions"))["data"] == []
    assert await api.invoices() == []


async def test_list_plans_filters_by_active(api: Api) -> None:
    keep = await api.plan(code="keep")
    gone = await api.plan(code="gone")
    await api.post(f"/v1/plans/{gone['id']}/archive")
    active = await api.get("/v1/plans", active="true")
    assert [p["id"] for p in active["data"]] == [keep["id"]]
    assert len((await api.get("/v1/plans"))["data"]) == 2


async def test_a_plans_price_never_changes(api: Api) -> None:
    """PATCH changes the name and default_tax_rates only (tests/events/test_money_events.py)."""
    plan = await api.plan()
    reply = await api.patch(f"/v1/plans/{plan['id']}", {"amount": 1})
    assert reply.status == 422
    assert (await api.get(f"/v1/plans/{plan['id']}"))["amount"] == 1999
