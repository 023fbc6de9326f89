"""A renewal batch's events (written set-based, each object rendered once in SQL): per
subscription its invoices' events, then its own, in id and sequence order, each carrying the
object exactly as GET renders it, money fields included (discount, tax, balance, reverse
charge note)."""

from __future__ import annotations

from typing import Any

from tests.client import Api


async def _events(api: Api, object_id: str) -> list[dict[str, Any]]:
    reply = await api.get("/v1/events", limit=100, object_id=object_id)
    assert reply.status == 200, reply
    return sorted(reply["data"], key=lambda e: e["sequence"])


async def test_renewal_events_carry_the_objects_as_get_renders_them(api: Api) -> None:
    await api.settings(days_until_due=45, grace_period_days=365)  # the first invoices not overdue yet
    vat = await api.post("/v1/tax_rates", {"display_name": "VAT", "percentage": 19, "inclusive": False})
    assert vat.status == 201, vat
    await api.settings(default_tax_rates=[vat["id"]])  # type: ignore[arg-type]
    coupon = await api.post("/v1/coupons", {"name": "Twenty", "percent_off": 20, "duration": "forever"})
    assert coupon.status == 201, coupon
    clock = await api.test_clock("2030-01-15T00:00:00Z")
    plan = await api.plan(amount=1999)
    ada = await api.customer("ada@example.com", test_clock=clock["id"])
    rex = await api.customer("rex@example.com", test_clock=clock["id"], tax_exempt="reverse")
    discounted = await api.subscribe(ada, plan, coupon=coupon["id"])
    reverse = await api.subscribe(rex, plan)
    # Credit after the first invoices: part of ada's renewal invoice, all of rex's.
    for customer, amount in ((ada, -500), (rex, -10_000)):
        credit = await api.post(
            f"/v1/customers/{customer['id']}/balance_transactions",
            {"amount": amount, "currency": "USD", "description": "goodwill"},
        )
        assert credit.status == 201, credit

    await api.advance(clock, "2030-02-16T00:00:00Z")  # one renewal each, one batch

    renewal_events = []
    for subscription, paid in ((discounted, False), (reverse, True)):
        [renewal] = [
            i
            for i in await api.invoices(subscription_id=subscription["id"])
            if i["billing_reason"] == "subscription_cycle"
        ]
        events = await _events(api, renewal["id"])
        assert [e["type"] for e in events] == ["invoice.created", "invoice.finalized"] + (
            ["invoice.paid"] if paid else []
        )
        got = (await api.get(f"/v1/invoices/{renewal['id']}")).body
        assert all(e["data"]["object"] == got for e in events)
        assert all(e["renewal_run"] and e["request"] is None and e["test_clock"] == clock["id"] for e in events)
        assert all("previous_attributes" not in e["data"] for e in events)
        renewed = (await _events(api, subscription["id"]))[-1]
        assert renewed["type"] == "subscription.renewed"
        assert renewed["data"]["object"] == await api.subscription(subscription)
        assert renewed["data"]["previous_attributes"] == {
            "current_period_start": "2030-01-15T00:00:00Z",
            "current_period_end": "2030-02-15T00:00:00Z",
        }
        renewal_events += [*events, renewed]

    ada_invoice, rex_invoice = renewal_events[0]["data"]["object"], renewal_events[3]["data"]["object"]
    # 19.99 - 20 % = 15.99; 19 % VAT = 3.04; 19.03 less the 5.00 credit.
    assert (ada_invoice["total"], ada_invoice["tax"], ada_invoice["starting_balance"]) == (1903, 304, -500)
    assert ada_invoice["amount_due"] == 1403 and ada_invoice["total_discount_amounts"][0]["amount"] == 400
    assert rex_invoice["tax_note"] and rex_invoice["tax"] == 0 and rex_invoice["amount_due"] == 0
    assert rex_invoice["status"] == "paid"
    # One batch: each subscription's invoice events, then its own; ids sort as the events do.
    in_batch = sorted(renewal_events, key=lambda e: e["sequence"])
    assert [e["id"] for e in in_batch] == sorted(e["id"] for e in in_batch)
    assert {e["renewal_run"] for e in in_batch} == {in_batch[0]["renewal_run"]}
