"""Issue 10's renewal, dunning, status and ending rules, each as a billing story through the
API with test clocks (docs/LIFECYCLE_RULES.md states the rules):

1. a subscription whose invoice cannot be written is skipped and reported, never blocking
   its batch; 5. no state change is dated before the action that caused it (dunning waits
   while paused); 6. pending prorations at the end go on a final invoice; 7. status is
   recomputed from the overdue check on every transition; 9. one grace boundary for every
   path; 10. a catch-up numbers invoices in date order.
"""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest

from shared.domain.money import MAX_AMOUNT
from tests.api.test_observability import scrape, value
from tests.client import Api

# (currency, old plan amount, new plan amount) in minor units: 10.00 -> 30.00 USD,
# 1000 -> 3000 JPY, 10.000 -> 30.000 KWD.
CURRENCIES = [("USD", 1000, 3000), ("JPY", 1000, 3000), ("KWD", 10000, 30000)]


async def _post_ok(api: Api, path: str, body: dict | None = None) -> dict:
    reply = await api.post(path, body)
    assert reply.status == 200, reply
    return reply.body


async def _insert_pending_item(database_url: str, subscription: dict, amount: int) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            """
            INSERT INTO invoice_items (tenant_id, id, customer_id, subscription_id, description, amount, currency,
                                       period_start, period_end, plan_id, proration, created_at)
            SELECT s.tenant_id, 'ii_big' || substr(md5(s.id), 1, 20), s.customer_id, s.id, 'oversized', $2, p.currency,
                   s.current_period_start, s.current_period_end, s.plan_id, true, s.current_period_start
            FROM subscriptions s JOIN plans p ON p.tenant_id = s.tenant_id AND p.id = s.plan_id
            WHERE s.id = $1
            """,
            subscription["id"],
            amount,
        )
    finally:
        await conn.close()


# Item 1 -----------------------------------------------------------------------------------


async def test_a_subscription_whose_invoice_cannot_be_written_is_skipped_and_reported(api: Api, clock) -> None:  # type: ignore[no-untyped-def]
    await api.settings(grace_period_days=365)
    plan = await api.plan(amount=1000)
    # The bad one first: the claim orders by period end, so it heads every batch.
    bad = await api.subscribe(await api.customer(email="bad@example.com"), plan)
    clock.set(clock.now() + timedelta(seconds=1))
    good = await api.subscribe(await api.customer(email="good@example.com"), plan)
    # The next cycle line (1000) plus this item is beyond the invoice range CHECK.
    await _insert_pending_item(api.database_url, bad, MAX_AMOUNT)
    before = await api.subscription(bad)

    clock.set(clock.now() + timedelta(days=32))
    metrics_before = await scrape(api)
    for _ in range(2):  # the bad one never makes a run fail, now or on the next run
        run = await _post_ok(api, "/v1/renewals")
        assert (run["failed"], run["failed_subscriptions"]) == (1, [bad["id"]])
    failures = value(await scrape(api), "billing_renewal_failures_total")
    assert failures - value(metrics_before, "billing_renewal_failures_total") == 2
    assert run["renewed"] == 0  # the good one renewed on the first run
    assert len(await api.invoices(subscription_id=good["id"])) == 2
    assert await api.subscription(bad) == before  # left untouched, still due
    assert len(await api.invoices(subscription_id=bad["id"])) == 1


async def test_a_clock_with_an_unwritable_subscription_still_advances_the_others(api: Api) -> None:
    await api.settings(grace_period_days=365)
    clock = await api.test_clock("2028-01-01T00:00:00Z")
    plan = await api.plan(amount=1000)
    bad = await api.subscribe(await api.customer(email="bad@example.com", test_clock=clock["id"]), plan)
    good = await api.subscribe(await api.customer(email="good@example.com", test_clock=clock["id"]), plan)
    await _insert_pending_item(api.database_url, bad, MAX_AMOUNT)
    await api.advance(clock, "2028-03-15T00:00:00Z")
    assert len(await api.invoices(subscription_id=good["id"])) == 3
    assert len(await api.invoices(subscription_id=bad["id"])) == 1


async def test_a_subscription_whose_stored_terms_the_domain_refuses_is_skipped_and_reported(api: Api, clock) -> None:  # type: ignore[no-untyped-def]
    """A row the domain cannot price (here a plan's usage charges edited in the database
    into a model that does not exist) is one failed subscription, not a failed run that
    every later run repeats."""
    await api.settings(grace_period_days=365)
    bad_plan, good_plan = await api.plan(amount=1000, code="bad"), await api.plan(amount=1000, code="good")
    bad = await api.subscribe(await api.customer(email="bad@example.com"), bad_plan)
    good = await api.subscribe(await api.customer(email="good@example.com"), good_plan)
    conn = await asyncpg.connect(api.database_url)
    try:
        await conn.execute(
            """UPDATE plans SET usage_charges = '[{"meter": "calls", "model": "no_such_model"}]' WHERE id = $1""",
            bad_plan["id"],
        )
    finally:
        await conn.close()
    before = await api.subscription(bad)

    clock.set(clock.now() + timedelta(days=32))
    for _ in range(2):  # the same on the next run: skipped, reported, never blocking the others
        run = await _post_ok(api, "/v1/renewals")
        assert (run["failed"], run["failed_subscriptions"]) == (1, [bad["id"]])
    assert len(await api.invoices(subscription_id=good["id"])) == 2
    assert await api.subscription(bad) == before
    assert len(await api.invoices(subscription_id=bad["id"])) == 1


async def test_a_batch_write_that_fails_anyway_falls_back_to_one_savepoint_per_subscription(
    api: Api,
    clock,  # type: ignore[no-untyped-def]
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    """The second line of defence: with the amount pre-check switched off, the database's
    CHECK refuses the batch; the engine redoes it one savepoint per subscription."""
    from shared.domain import invoices

    monkeypatch.setattr(invoices.InvoiceDraft, "in_range", property(lambda self: True))
    await api.settings(grace_period_days=365)
    plan = await api.plan(amount=1000)
    bad = await api.subscribe(await api.customer(email="bad@example.com"), plan)
    good = await api.subscribe(await api.customer(email="good@example.com"), plan)
    await _insert_pending_item(api.database_url, bad, MAX_AMOUNT)
    clock.set(clock.now() + timedelta(days=32))
    run = await _post_ok(api, "/v1/renewals")
    assert (run["renewed"], run["failed"], run["failed_subscriptions"]) == (1, 1, [bad["id"]])
    assert len(await api.invoices(subscription_id=good["id"])) == 2


# Items 5 and 7 ----------------------------------------------------------------------------


async def test_grace_that_ran_out_while_paused_cancels_no_earlier_than_the_resume(api: Api) -> None:
    await api.settings(grace_period_days=30)  # due Jan 31, grace runs out Mar 1
    clock = await api.test_clock("2028-01-01T00:00:00Z")
    sub = await api.subscribe(await api.customer(test_clock=clock["id"]), await api.plan(amount=1000, currency="USD"))
    await _post_ok(api, f"/v1/subscriptions/{sub['id']}/pause")
    await api.advance(clock, "2028-04-01T00:00:00Z")
    assert (await api.subscription(sub))["status"] == "paused"  # dunning waits during a pause

    resumed = await _post_ok(api, f"/v1/subscriptions/{sub['id']}/resume")
    assert resumed["status"] == "past_due"  # item 7: the Jan invoice is overdue
    await api.advance(clock, "2028-04-01T01:00:00Z")
    ended = await api.subscription(sub)
    assert (ended["status"], ended["ended_at"]) == ("canceled", "2028-04-01T00:00:00Z")
    invoices = sorted(await api.invoices(subscription_id=sub["id"]), key=lambda i: i["number"])
    assert invoices[0]["status"] == "uncollectible"
    for invoice in invoices:
        if invoice["status"] == "uncollectible":
            assert invoice["marked_uncollectible_at"] >= invoice["created_at"]
            assert invoice["marked_uncollectible_at"] >= "2028-04-01T00:00:00Z"


async def test_paying_one_invoice_while_another_is_overdue_leaves_the_subscription_past_due(
    api: Api,
    clock,  # type: ignore[no-untyped-def]
) -> None:
    await api.settings(days_until_due=0, grace_period_days=365)
    small, big = await api.plan(amount=1000), await api.plan(code="big", amount=3000)
    sub = await api.subscribe(await api.customer(), small)
    [first] = await api.invoices(subscription_id=sub["id"])
    clock.set(clock.now() + timedelta(hours=1))  # the first invoice is overdue; no run since
    await _post_ok(
        api, f"/v1/subscriptions/{sub['id']}/change_plan", {"plan_id": big["id"], "proration": "always_invoice"}
    )
    [update] = [i for i in await api.invoices(subscription_id=sub["id"]) if i["id"] != first["id"]]
    await _post_ok(api, f"/v1/invoices/{update['id']}/pay")
    assert (await api.subscription(sub))["status"] == "past_due"
    await _post_ok(api, f"/v1/invoices/{first['id']}/pay")
    assert (await api.subscription(sub))["status"] == "active"


# Item 6 -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("currency", "old", "new"), CURRENCIES)
async def test_pending_prorations_are_invoiced_when_the_subscription_ends(
    api: Api, currency: str, old: int, new: int
) -> None:
    await api.settings(days_until_due=3, grace_period_days=3)
    clock = await api.test_clock("2028-01-01T00:00:00Z")
    small = await api.plan(code="small", amount=old, currency=currency)
    big = await api.plan(code="big", amount=new, currency=currency)
    ending = {}
    for how in ("period_end", "dunning", "now"):
        customer = await api.customer(email=f"{how}@example.com", test_clock=clock["id"])
        ending[how] = await api.subscribe(customer, small)
        if how != "dunning":
            await _post_ok(api, f"/v1/invoices/{(await api.invoices(subscription_id=ending[how]['id']))[0]['id']}/pay")
    # Jan 5: every one upgrades for the 27 days left of 31 (the dunning one is past due).
    await api.advance(clock, "2028-01-05T00:00:00Z")
    for sub in ending.values():
        body = {"plan_id": big["id"], "proration": "create_prorations"}
        await _post_ok(api, f"/v1/subscriptions/{sub['id']}/change_plan", body)
    await _post_ok(api, f"/v1/subscriptions/{ending['period_end']['id']}/cancel", {"at_period_end": True})
    await _post_ok(api, f"/v1/subscriptions/{ending['now']['id']}/cancel", {"at_period_end": False})
    await api.advance(clock, "2028-02-10T00:00:00Z")

    credit = {"USD": -871, "JPY": -871, "KWD": -8710}[currency]  # 27/31 of the old price, half-up
    charge = {"USD": 2613, "JPY": 2613, "KWD": 26129}[currency]  # 27/31 of the new price
    ended_at = {"period_end": "2028-02-01T00:00:00Z", "dunning": "2028-01-07T00:00:00Z", "now": "2028-01-05T00:00:00Z"}
    for how, sub in ending.items():
        now = await api.subscription(sub)
        assert (now["status"], now["ended_at"]) == ("canceled", ended_at[how]), how
        [final] = [
            i for i in await api.invoices(subscription_id=sub["id"]) if i["billing_reason"] != "subscription_create"
        ]
        assert sorted(line["amount"] for line in final["lines"]) == [credit, charge], how
        assert (final["total"], final["currency"], final["created_at"]) == (credit + charge, currency, ended_at[how])
        assert final["billing_reason"] == "subscription_update"
        expected = "uncollectible" if how == "dunning" else "open"
        assert final["status"] == expected, how


# Item 9 -----------------------------------------------------------------------------------


async def test_grace_zero_cancels_at_exactly_the_due_date_in_every_path(api: Api) -> None:
    await api.settings(days_until_due=1, grace_period_days=0)
    clock = await api.test_clock("2028-01-01T00:00:00Z")
    # Inside its period (the dunning claim) and at its period's end (the renewal claim).
    monthly = await api.subscribe(await api.customer(email="m@example.com", test_clock=clock["id"]), await api.plan())
    daily = await api.subscribe(
        await api.customer(email="d@example.com", test_clock=clock["id"]), await api.plan(code="daily", interval="day")
    )
    await api.advance(clock, "2028-01-02T00:00:00Z")  # exactly the due date of both first invoices
    for sub in (monthly, daily):
        now = await api.subscription(sub)
        assert (now["status"], now["ended_at"]) == ("canceled", "2028-01-02T00:00:00Z")


# Item 10 ----------------------------------------------------------------------------------


async def test_a_catch_up_numbers_invoices_in_date_order(api: Api) -> None:
    await api.settings(grace_period_days=365)
    clock = await api.test_clock("2028-01-02T00:00:00Z")
    plan = await api.plan(amount=1000)
    early = await api.subscribe(await api.customer(email="early@example.com", test_clock=clock["id"]), plan)
    await api.advance(clock, "2028-01-06T00:00:00Z")
    late = await api.subscribe(await api.customer(email="late@example.com", test_clock=clock["id"]), plan)
    await api.advance(clock, "2028-04-10T00:00:00Z")
    invoices = sorted(await api.invoices(), key=lambda i: i["number"])
    assert [i["number"] for i in invoices] == list(range(1, 9))  # gap-free
    dates = [i["created_at"] for i in invoices]
    assert dates == sorted(dates)
    assert {i["subscription_id"] for i in invoices} == {early["id"], late["id"]}


async def test_canceling_by_hand_leaves_open_invoices_open_and_payable(api: Api) -> None:
    await api.settings(grace_period_days=365)
    sub = await api.subscribe(await api.customer(), await api.plan(amount=1000))
    [invoice] = await api.invoices(subscription_id=sub["id"])
    await _post_ok(api, f"/v1/subscriptions/{sub['id']}/cancel", {"at_period_end": False})
    assert (await api.get(f"/v1/invoices/{invoice['id']}"))["status"] == "open"
    assert (await _post_ok(api, f"/v1/invoices/{invoice['id']}/pay"))["status"] == "paid"
