"""The events the first pass left out: trial_will_end and payment_overdue (emitted once by
the renewal run, whatever how many runs see them), test_clock.advanced once the advance has
finished, and the usage objects' events."""

from __future__ import annotations

from tests.client import Api


async def test_trial_will_end_comes_once_three_days_before_the_trial_ends(api: Api) -> None:
    clock = await api.test_clock("2030-03-01T00:00:00Z")
    customer = await api.customer(test_clock=clock["id"])
    plan = await api.plan(amount=1999, trial_period_days=14)  # trial ends 2030-03-15
    long_trial = await api.subscribe(customer, plan)
    short_trial = await api.subscribe(customer, plan, trial_period_days=2)  # ends 2030-03-03

    await api.advance(clock, "2030-03-01T12:00:00Z")  # the short trial's notice: at the first run
    assert await api.event_types(short_trial["id"]) == ["subscription.created", "subscription.trial_will_end"]
    assert await api.event_types(long_trial["id"]) == ["subscription.created"]

    await api.advance(clock, "2030-03-11T23:59:59Z")  # not yet 3 days before
    assert await api.event_types(long_trial["id"]) == ["subscription.created"]
    await api.advance(clock, "2030-03-12T00:00:00Z")
    await api.advance(clock, "2030-03-13T00:00:00Z")  # seen again: never twice
    [notice] = await api.events(object_id=long_trial["id"], type="subscription.trial_will_end")
    assert notice["created"] == "2030-03-12T00:00:00Z"
    assert notice["data"]["object"]["status"] == "trialing"
    assert notice["data"]["object"]["trial_end"] == "2030-03-15T00:00:00Z"
    assert notice["renewal_run"] is not None and notice["test_clock"] == clock["id"]

    await api.advance(clock, "2030-03-16T00:00:00Z")  # the trial ends: renewed, no second notice
    types = await api.event_types(long_trial["id"])
    assert types.count("subscription.trial_will_end") == 1
    assert types.index("subscription.trial_will_end") < types.index("subscription.updated")


async def test_a_trial_jumped_over_still_gets_its_notice_first(api: Api) -> None:
    clock = await api.test_clock("2030-03-01T00:00:00Z")
    customer = await api.customer(test_clock=clock["id"])
    subscription = await api.subscribe(customer, await api.plan(trial_period_days=7))
    await api.advance(clock, "2030-03-20T00:00:00Z")
    types = await api.event_types(subscription["id"])
    assert types[:2] == ["subscription.created", "subscription.trial_will_end"]
    assert types.count("subscription.trial_will_end") == 1


async def test_payment_overdue_comes_once_when_the_invoice_becomes_overdue(api: Api) -> None:
    await api.settings(days_until_due=10, grace_period_days=30)
    clock = await api.test_clock("2030-01-15T00:00:00Z")
    customer = await api.customer(test_clock=clock["id"])
    subscription = await api.subscribe(customer, await api.plan(amount=1999))
    [invoice] = await api.invoices(subscription_id=subscription["id"])
    assert invoice["due_at"] == "2030-01-25T00:00:00Z"

    await api.advance(clock, "2030-01-25T00:00:00Z")  # due now, not yet overdue (due_at < now)
    assert "invoice.payment_overdue" not in await api.event_types(invoice["id"])
    await api.advance(clock, "2030-01-25T00:00:01Z")
    await api.advance(clock, "2030-01-26T00:00:00Z")  # seen again: never twice
    [overdue] = await api.events(object_id=invoice["id"], type="invoice.payment_overdue")
    assert overdue["created"] == "2030-01-25T00:00:00Z"
    assert overdue["data"]["object"]["status"] == "open"
    assert overdue["data"]["object"]["amount_remaining"] == 1999
    assert overdue["renewal_run"] is not None
    assert (await api.subscription(subscription))["status"] == "past_due"

    # A paid invoice never becomes overdue.
    await api.advance(clock, "2030-02-15T00:00:00Z")  # the second invoice, due 2030-02-25
    second = next(i for i in await api.invoices(subscription_id=subscription["id"]) if i["id"] != invoice["id"])
    assert (await api.post(f"/v1/invoices/{second['id']}/pay")).status == 200
    await api.advance(clock, "2030-03-01T00:00:00Z")
    assert "invoice.payment_overdue" not in await api.event_types(second["id"])
    assert (await api.event_types(invoice["id"])).count("invoice.payment_overdue") == 1


async def test_test_clock_advanced_is_emitted_when_the_clock_is_ready(api: Api) -> None:
    clock = await api.test_clock("2030-01-15T00:00:00Z")
    customer = await api.customer(test_clock=clock["id"])
    await api.subscribe(customer, await api.plan(amount=1999))
    await api.advance(clock, "2030-03-16T00:00:00Z")
    events = await api.events(object_id=clock["id"])
    assert [e["type"] for e in events] == ["test_helpers.test_clock.advancing", "test_clock.advanced"]
    advancing, advanced = events
    assert advancing["data"]["object"]["status"] == "advancing"
    assert advanced["data"]["object"]["status"] == "ready"
    assert advanced["data"]["object"]["frozen_time"] == "2030-03-16T00:00:00Z"
    assert advanced["created"] == "2030-03-16T00:00:00Z" and advanced["test_clock"] == clock["id"]
    # After every event of the advance's renewals.
    renewals = await api.events(type="subscription.*")
    assert max(e["sequence"] for e in renewals) < advanced["sequence"]


async def test_meters_and_external_ids_have_events(api: Api) -> None:
    created = await api.post("/v1/meters", {"code": "gb", "name": "Storage", "aggregation": "count"})
    assert created.status == 201, created
    meter = created.body
    archived = await api.post(f"/v1/meters/{meter['id']}/archive")
    assert archived.status == 200, archived
    assert (await api.post(f"/v1/meters/{meter['id']}/archive")).status == 200  # idempotent: no event
    events = await api.events(object_id=meter["id"])
    assert [e["type"] for e in events] == ["meter.created", "meter.archived"]
    assert events[0]["data"]["object"] == meter
    assert events[1]["data"]["object"] == archived.body

    customer = await api.customer()
    updated = await api.patch(f"/v1/customers/{customer['id']}", {"external_id": "crm-42"})
    assert updated.status == 200, updated
    [event] = await api.events(object_id=customer["id"], type="customer.updated")
    assert event["data"]["object"]["external_id"] == "crm-42"
    assert event["data"]["previous_attributes"] == {"external_id": None}
