"""Billing stories: plans, subscriptions and test clocks moving through time."""

from tests.client import Api


def contiguous(periods: list[tuple[str, str]]) -> bool:
    return all(a[1] == b[0] for a, b in zip(periods, periods[1:]))


async def test_monthly_from_jan_31_across_a_leap_year(api: Api) -> None:
    await api.settings(grace_period_days=365, days_until_due=0)
    clock = await api.test_clock("2028-01-31T00:00:00Z")
    customer = await api.customer(test_clock=clock["id"])
    subscription = await api.subscribe(customer, await api.plan(amount=1000))

    await api.advance(clock, "2028-06-01T00:00:00Z")

    assert await api.periods(subscription) == [
        ("2028-01-31T00:00:00Z", "2028-02-29T00:00:00Z"),
        ("2028-02-29T00:00:00Z", "2028-03-31T00:00:00Z"),
        ("2028-03-31T00:00:00Z", "2028-04-30T00:00:00Z"),
        ("2028-04-30T00:00:00Z", "2028-05-31T00:00:00Z"),
        ("2028-05-31T00:00:00Z", "2028-06-30T00:00:00Z"),
    ]
    invoices = await api.invoices(subscription_id=subscription["id"])
    # The clock's own sequence, simulated: no legal invoice number was taken.
    assert sorted((i["number"], i["livemode"], i["test_clock"]) for i in invoices) == [
        (n, False, clock["id"]) for n in range(1, 6)
    ]
    assert {i["created_at"] for i in invoices} == {p[0] for p in await api.periods(subscription)}
    after = await api.subscription(subscription)
    assert after["status"] == "past_due"  # nothing was paid; days_until_due is 0
    assert (after["current_period_start"], after["current_period_end"]) == (
        "2028-05-31T00:00:00Z",
        "2028-06-30T00:00:00Z",
    )
    for invoice in invoices:
        assert (await api.post(f"/v1/invoices/{invoice['id']}/pay")).status == 200
    assert (await api.subscription(subscription))["status"] == "active"


async def test_advancing_in_many_small_steps_bills_the_same_as_one_big_step(api: Api) -> None:
    await api.settings(grace_period_days=365)
    plan = await api.plan(amount=1000)
    big, small = await api.test_clock("2028-01-31T00:00:00Z"), await api.test_clock("2028-01-31T00:00:00Z")
    one = await api.subscribe(await api.customer(email="one@example.com", test_clock=big["id"]), plan)
    many = await api.subscribe(await api.customer(email="many@example.com", test_clock=small["id"]), plan)
    await api.advance(big, "2028-12-01T00:00:00Z")
    for month in range(2, 12):
        await api.advance(small, f"2028-{month:02d}-15T00:00:00Z")
    await api.advance(small, "2028-12-01T00:00:00Z")
    assert await api.periods(one) == await api.periods(many)
    assert len(await api.periods(one)) == 11 and contiguous(await api.periods(one))


async def test_yearly_from_feb_29(api: Api) -> None:
    await api.settings(grace_period_days=365, days_until_due=0)
    clock = await api.test_clock("2028-02-29T12:00:00Z")
    customer = await api.customer(test_clock=clock["id"])
    subscription = await api.subscribe(customer, await api.plan(code="annual", amount=12000, interval="year"))
    for year in range(2029, 2033):
        for invoice in await api.invoices(subscription_id=subscription["id"], status="open"):
            await api.post(f"/v1/invoices/{invoice['id']}/pay")
        await api.advance(clock, f"{year}-03-01T00:00:00Z")
    assert [p[1] for p in await api.periods(subscription)] == [
        "2029-02-28T12:00:00Z",
        "2030-02-28T12:00:00Z",
        "2031-02-28T12:00:00Z",
        "2032-02-29T12:00:00Z",
        "2033-02-28T12:00:00Z",
    ]
    assert (await api.subscription(subscription))["status"] == "past_due"  # the 2032 invoice is unpaid


async def test_trial_then_first_invoice_at_trial_end(api: Api) -> None:
    clock = await api.test_clock("2026-03-10T09:00:00Z")
    customer = await api.customer(test_clock=clock["id"])
    subscription = await api.subscribe(customer, await api.plan(trial_period_days=14))
    assert subscription["status"] == "trialing" and subscription["trial_end"] == "2026-03-24T09:00:00Z"
    await api.advance(clock, "2026-03-24T08:59:59Z")
    assert await api.invoices() == []
    await api.advance(clock, "2026-03-24T09:00:00Z")
    after = await api.subscription(subscription)
    assert after["status"] == "active"
    assert await api.periods(subscription) == [("2026-03-24T09:00:00Z", "2026-04-24T09:00:00Z")]


async def test_trial_then_cancel_at_period_end_never_bills(api: Api) -> None:
    clock = await api.test_clock("2026-03-10T09:00:00Z")
    customer = await api.customer(test_clock=clock["id"])
    subscription = await api.subscribe(customer, await api.plan(trial_period_days=7))
    canceling = await api.post(f"/v1/subscriptions/{subscription['id']}/cancel", {"at_period_end": True})
    assert canceling.status == 200
    assert (canceling["status"], canceling["cancel_at_period_end"]) == ("trialing", True)
    assert (await api.get(f"/v1/subscriptions/{subscription['id']}/upcoming_invoice")).status == 409
    await api.advance(clock, "2026-05-01T00:00:00Z")
    after = await api.subscription(subscription)
    assert (after["status"], after["ended_at"], after["cancel_at_period_end"]) == (
        "canceled",
        "2026-03-17T09:00:00Z",
        False,
    )
    assert await api.invoices() == []


async def test_cancel_at_period_end_then_uncancel_keeps_billing(api: Api) -> None:
    await api.settings(grace_period_days=365)
    clock = await api.test_clock("2026-01-15T00:00:00Z")
    subscription = await api.subscribe(await api.customer(test_clock=clock["id"]), await api.plan())
    await api.post(f"/v1/subscriptions/{subscription['id']}/cancel", {"at_period_end": True})
    undone = await api.post(f"/v1/subscriptions/{subscription['id']}/resume_cancel")
    assert undone.status == 200 and undone["cancel_at_period_end"] is False and undone["canceled_at"] is None
    assert (await api.post(f"/v1/subscriptions/{subscription['id']}/resume_cancel")).status == 409
    await api.advance(clock, "2026-02-20T00:00:00Z")
    assert len(await api.periods(subscription)) == 2
    await api.post(f"/v1/subscriptions/{subscription['id']}/cancel", {"at_period_end": True})
    await api.advance(clock, "2026-06-01T00:00:00Z")
    after = await api.subscription(subscription)
    assert (after["status"], after["ended_at"]) == ("canceled", "2026-03-15T00:00:00Z")
    assert len(await api.periods(subscription)) == 2


async def test_cancel_immediately(api: Api) -> None:
    clock = await api.test_clock("2026-01-15T00:00:00Z")
    subscription = await api.subscribe(await api.customer(test_clock=clock["id"]), await api.plan())
    await api.advance(clock, "2026-01-20T00:00:00Z")
    canceled = await api.post(f"/v1/subscriptions/{subscription['id']}/cancel", {})
    assert (canceled["status"], canceled["ended_at"], canceled["canceled_at"]) == (
        "canceled",
        "2026-01-20T00:00:00Z",
        "2026-01-20T00:00:00Z",
    )
    assert (await api.post(f"/v1/subscriptions/{subscription['id']}/cancel", {})).status == 409
    await api.advance(clock, "2026-05-01T00:00:00Z")
    assert len(await api.periods(subscription)) == 1


async def test_pause_bills_nothing_and_resume_starts_a_new_period(api: Api) -> None:
    await api.settings(grace_period_days=365)
    clock = await api.test_clock("2026-01-01T00:00:00Z")
    subscription = await api.subscribe(await api.customer(test_clock=clock["id"]), await api.plan(amount=1500))
    await api.advance(clock, "2026-01-10T00:00:00Z")
    paused = await api.post(f"/v1/subscriptions/{subscription['id']}/pause")
    assert (paused["status"], paused["paused_at"]) == ("paused", "2026-01-10T00:00:00Z")
    assert (await api.post(f"/v1/subscriptions/{subscription['id']}/pause")).status == 409
    await api.advance(clock, "2026-04-05T06:00:00Z")
    assert len(await api.invoices(subscription_id=subscription["id"])) == 1
    resumed = await api.post(f"/v1/subscriptions/{subscription['id']}/resume")
    # past_due at once: the unpaid January invoice is overdue (issue 10, item 7)
    assert resumed["status"] == "past_due" and resumed["paused_at"] is None
    assert (resumed["current_period_start"], resumed["current_period_end"]) == (
        "2026-04-05T06:00:00Z",
        "2026-05-05T06:00:00Z",
    )
    await api.advance(clock, "2026-05-06T00:00:00Z")
    assert await api.periods(subscription) == [
        ("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"),
        ("2026-04-05T06:00:00Z", "2026-05-05T06:00:00Z"),
        ("2026-05-05T06:00:00Z", "2026-06-05T06:00:00Z"),
    ]


async def test_dunning_to_uncollectible(api: Api) -> None:
    await api.settings(days_until_due=7, grace_period_days=10)
    clock = await api.test_clock("2026-01-01T00:00:00Z")
    subscription = await api.subscribe(await api.customer(test_clock=clock["id"]), await api.plan())
    [invoice] = await api.invoices()
    assert invoice["due_at"] == "2026-01-08T00:00:00Z"
    await api.advance(clock, "2026-01-08T00:00:00Z")
    assert (await api.subscription(subscription))["status"] == "active"  # due, not yet past due
    await api.advance(clock, "2026-01-08T00:00:01Z")
    assert (await api.subscription(subscription))["status"] == "past_due"
    await api.advance(clock, "2026-01-17T23:59:59Z")
    assert (await api.subscription(subscription))["status"] == "past_due"
    await api.advance(clock, "2026-01-18T00:00:00Z")
    after = await api.subscription(subscription)
    assert (after["status"], after["ended_at"]) == ("canceled", "2026-01-18T00:00:00Z")
    [invoice] = await api.invoices()
    assert (invoice["status"], invoice["marked_uncollectible_at"]) == ("uncollectible", "2026-01-18T00:00:00Z")
    await api.advance(clock, "2026-06-01T00:00:00Z")
    assert len(await api.invoices()) == 1
    late = await api.post(f"/v1/invoices/{invoice['id']}/pay")  # a late payment is still taken
    assert late.status == 200 and late["status"] == "paid"


async def test_grace_ending_before_the_next_cycle_stops_billing_in_one_long_advance(api: Api) -> None:
    await api.settings(grace_period_days=10, days_until_due=0)
    clock = await api.test_clock("2026-01-01T00:00:00Z")
    subscription = await api.subscribe(await api.customer(test_clock=clock["id"]), await api.plan())
    await api.advance(clock, "2026-04-01T00:00:00Z")
    after = await api.subscription(subscription)
    assert (after["status"], after["ended_at"]) == ("canceled", "2026-01-11T00:00:00Z")
    assert len(await api.invoices()) == 1


async def test_paying_a_past_due_invoice_makes_the_subscription_active(api: Api) -> None:
    await api.settings(days_until_due=0)
    clock = await api.test_clock("2026-01-01T00:00:00Z")
    subscription = await api.subscribe(await api.customer(test_clock=clock["id"]), await api.plan())
    await api.advance(clock, "2026-01-02T00:00:00Z")
    assert (await api.subscription(subscription))["status"] == "past_due"
    [invoice] = await api.invoices()
    paid = await api.post(f"/v1/invoices/{invoice['id']}/pay")
    assert paid["paid_at"] == "2026-01-02T00:00:00Z"  # the customer's (test clock) time
    assert (await api.subscription(subscription))["status"] == "active"


async def test_a_test_clock_moves_only_its_own_customers(api: Api) -> None:
    plan = await api.plan()
    real = await api.subscribe(await api.customer(email="real@example.com"), plan)
    clock = await api.test_clock("2026-01-31T10:00:00Z")
    simulated = await api.subscribe(await api.customer(email="sim@example.com", test_clock=clock["id"]), plan)
    other_clock = await api.test_clock("2026-01-31T10:00:00Z")
    bystander = await api.subscribe(await api.customer(email="by@example.com", test_clock=other_clock["id"]), plan)
    await api.advance(clock, "2026-08-01T00:00:00Z")
    assert len(await api.periods(simulated)) > 1
    assert len(await api.periods(real)) == 1
    assert len(await api.periods(bystander)) == 1


async def test_test_clocks_only_move_forward_and_belong_to_their_tenant(api: Api) -> None:
    clock = await api.test_clock("2026-01-01T00:00:00Z")
    for frozen in ("2026-01-01T00:00:00Z", "2025-12-31T00:00:00Z", "2026-02-01T00:00:00", "yesterday"):
        reply = await api.post(f"/v1/test_clocks/{clock['id']}/advance", {"frozen_time": frozen})
        assert reply.status == 422, frozen
    assert (await api.get(f"/v1/test_clocks/{clock['id']}"))["frozen_time"] == "2026-01-01T00:00:00Z"
    other = await api.as_new_tenant()
    assert (await other.get(f"/v1/test_clocks/{clock['id']}")).status == 404
    assert (
        await other.post("/v1/customers", {"email": "x@example.com", "name": "X", "test_clock": clock["id"]})
    ).status == 404
