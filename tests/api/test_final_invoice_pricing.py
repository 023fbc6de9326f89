"""The invoices a subscription gets when it ends, and usage billed in arrears, are priced like
every other invoice: the subscription's discount per line, tax after the discount, the
customer's balance over the whole total (usage included). Billing stories through test
clocks with exact amounts in USD (2 decimals), JPY (0) and KWD (3)."""

from __future__ import annotations

from typing import Any

from tests.client import Api

# Per currency: the plan's price and the price of one call (a decimal string: minor units).
PRICES = {"USD": (1999, "333"), "JPY": (1999, "33.3"), "KWD": (19999, "3333")}


async def _calls(api: Api, customer: str, day: str, count: int) -> None:
    events = [
        {"id": f"{customer}-{day}-{k}", "customer": customer, "meter": "calls", "timestamp": f"2026-{day}T00:00:00Z"}
        for k in range(count)
    ]
    reply = await api.post("/v1/usage_events/batch", {"events": events})
    assert reply.status == 200, reply
    assert [r["status"] for r in reply.body["results"]] == ["accepted"] * count, reply


async def _plans(api: Api) -> dict[str, dict]:
    assert (await api.post("/v1/meters", {"code": "calls", "name": "Calls", "aggregation": "count"})).status == 201
    return {
        currency: await api.plan(
            code=f"calls-{currency}",
            amount=amount,
            currency=currency,
            usage_charges=[{"meter": "calls", "model": "per_unit", "unit_amount": unit}],
        )
        for currency, (amount, unit) in PRICES.items()
    }


def _priced(invoice: dict) -> list[tuple[Any, ...]]:
    """Each line as (amount, discount, tax), then the invoice's totals."""
    lines = [
        (
            line["amount"],
            sum(d["amount"] for d in line["discount_amounts"]),
            sum(t["amount"] for t in line["tax_amounts"]),
        )
        for line in invoice["lines"]
    ]
    return [*lines, (invoice["subtotal"], invoice["total_excluding_tax"], invoice["tax"], invoice["total"])]


async def _full(api: Api, invoice: dict) -> dict:
    reply = await api.get(f"/v1/invoices/{invoice['id']}")
    assert reply.status == 200, reply
    return reply.body


async def test_final_invoices_bill_the_last_usage_with_the_discount_and_tax(api: Api) -> None:
    """A 20% coupon (forever) and 19% exclusive VAT. One customer per currency cancels at
    period end, another is canceled by dunning: both final invoices bill the usage of the
    last period in arrears, discounted per line, taxed after the discount."""
    await api.settings(days_until_due=5, grace_period_days=10)
    vat = await api.post("/v1/tax_rates", {"display_name": "VAT", "percentage": 19, "inclusive": False})
    assert vat.status == 201, vat
    assert (await api.patch("/v1/settings", {"default_tax_rates": [vat["id"]]})).status == 200
    coupon = await api.post("/v1/coupons", {"percent_off": 20, "duration": "forever"})
    assert coupon.status == 201, coupon
    plans = await _plans(api)
    clock = await api.test_clock("2026-03-01T00:00:00Z")
    subs = {}
    for currency, plan in plans.items():
        for how in ("period_end", "dunning"):
            ref = f"{how}-{currency}"
            customer = await api.customer(email=f"{ref}@example.com", test_clock=clock["id"], external_id=ref)
            subs[ref] = await api.subscribe(customer, plan, coupon=coupon["id"])
            if how == "period_end":
                [first] = await api.invoices(subscription_id=subs[ref]["id"])
                assert (await api.post(f"/v1/invoices/{first['id']}/pay")).status == 200
                canceled = await api.post(f"/v1/subscriptions/{subs[ref]['id']}/cancel", {"at_period_end": True})
                assert canceled.status == 200, canceled
    await api.advance(clock, "2026-03-10T00:00:00Z")
    for ref in subs:
        await _calls(api, ref, "03-09", 3)
    await api.advance(clock, "2026-04-02T00:00:00Z")

    # 3 calls; 20% off half-up per line; 19% of what is left, half-up per line.
    usage = {
        # 3 x 3.33 = 9.99; -2.00 (1.998); +1.52 VAT (19% of 7.99 = 1.5181): 9.51
        "USD": [(999, 200, 152), (999, 799, 152, 951)],
        # 3 x 33.3 = 99.9 -> ¥100; -¥20; +¥15 VAT (15.2): ¥95
        "JPY": [(100, 20, 15), (100, 80, 15, 95)],
        # 3 x 3.333 = 9.999; -2.000 (1.9998); +1.520 VAT (1.51981): 9.519
        "KWD": [(9999, 2000, 1520), (9999, 7999, 1520, 9519)],
    }
    ended = {"period_end": "2026-04-01T00:00:00Z", "dunning": "2026-03-16T00:00:00Z"}  # due Mar 6 + 10 days
    for currency in PRICES:
        for how, ended_at in ended.items():
            ref = f"{how}-{currency}"
            now = await api.subscription(subs[ref])
            assert (now["status"], now["ended_at"]) == ("canceled", ended_at), ref
            finals = [
                await _full(api, i)
                for i in await api.invoices(subscription_id=subs[ref]["id"])
                if i["billing_reason"] == "subscription_update"
            ]
            assert len(finals) == 1, (ref, finals)
            [final] = finals
            assert _priced(final) == usage[currency], ref
            assert (final["period_start"], final["period_end"], final["created_at"]) == (
                "2026-03-01T00:00:00Z",
                ended_at,
                ended_at,
            ), ref
            assert [t["tax_rate"] for t in final["total_tax_amounts"]] == [vat["id"]]
            assert final["status"] == ("uncollectible" if how == "dunning" else "open"), ref
    # The period is closed: a late event in it is refused.
    late = {"id": "late", "customer": "dunning-USD", "meter": "calls", "timestamp": "2026-03-12T00:00:00Z"}
    reply = await api.post("/v1/usage_events/batch", {"events": [late]})
    assert reply.body["results"][0]["status"] == "rejected", reply


async def test_the_balance_pays_a_renewal_only_if_it_covers_the_usage_too(api: Api) -> None:
    """Credit of exactly the plan's price pays the first renewal's fixed fee but not its usage
    lines: the invoice is open for the usage, and the subscription is canceled when its grace
    period runs out, before the next renewal, even when one run of the clock covers it all."""
    await api.settings(days_until_due=5, grace_period_days=10)
    plans = await _plans(api)
    clock = await api.test_clock("2026-03-01T00:00:00Z")
    subs = {}
    for currency, plan in plans.items():
        amount = PRICES[currency][0]
        customer = await api.customer(email=f"{currency}@example.com", test_clock=clock["id"], external_id=currency)
        credited = await api.post(
            f"/v1/customers/{customer['id']}/balance_transactions", {"amount": -2 * amount, "currency": currency}
        )
        assert credited.status == 201, credited
        subs[currency] = await api.subscribe(customer, plan)  # paid by the credit, half of it left
    await api.advance(clock, "2026-03-10T00:00:00Z")
    for currency in PRICES:
        await _calls(api, currency, "03-09", 3)
    await api.advance(clock, "2026-06-10T00:00:00Z")  # in one run: renewals due Apr 1, May 1, Jun 1

    usage = {"USD": 999, "JPY": 100, "KWD": 9999}  # 3 x 3.33; 3 x 33.3 = 99.9 -> 100; 3 x 3.333
    for currency, sub in subs.items():
        amount = PRICES[currency][0]
        # Apr 1's renewal: the credit pays its fee, not its usage; it is due Apr 6, so the
        # grace period runs out on Apr 16, before May's renewal (never billed).
        [renewal] = [
            i for i in await api.invoices(subscription_id=sub["id"]) if i["billing_reason"] == "subscription_cycle"
        ]
        assert [line["amount"] for line in (await _full(api, renewal))["lines"]] == [amount, usage[currency]]
        assert (
            renewal["created_at"],
            renewal["total"],
            renewal["starting_balance"],
            renewal["ending_balance"],
            renewal["amount_due"],
            renewal["status"],
        ) == ("2026-04-01T00:00:00Z", amount + usage[currency], -amount, 0, usage[currency], "uncollectible"), currency
        assert (await api.get(f"/v1/customers/{sub['customer_id']}"))["balances"] == {currency: 0}
        now = await api.subscription(sub)
        assert (now["status"], now["ended_at"]) == ("canceled", "2026-04-16T00:00:00Z"), currency


async def test_a_dunning_cancel_as_its_period_starts_bills_no_usage_and_does_not_stall_the_run(api: Api) -> None:
    """No days to pay and no grace: the first invoice's grace runs out the moment the
    subscription starts, so it ends there, with an empty last usage period."""
    await api.settings(days_until_due=0, grace_period_days=0)
    plans = await _plans(api)
    clock = await api.test_clock("2026-03-01T00:00:00Z")
    customer = await api.customer(test_clock=clock["id"], external_id="c")
    subscription = await api.subscribe(customer, plans["USD"])
    await api.advance(clock, "2026-03-02T00:00:00Z")
    now = await api.subscription(subscription)
    assert (now["status"], now["ended_at"]) == ("canceled", "2026-03-01T00:00:00Z")
    assert [i["billing_reason"] for i in await api.invoices(subscription_id=subscription["id"])] == [
        "subscription_create"
    ]
