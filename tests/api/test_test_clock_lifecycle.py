"""Test clocks are simulations: their invoices never take the tenant's legal (real) numbers,
they can be listed, and deleting one removes everything simulated in it and nothing else."""

from __future__ import annotations

import asyncpg

from tests.client import Api


async def test_simulated_invoices_have_their_own_sequence_and_never_take_a_legal_number(api: Api) -> None:
    await api.settings(grace_period_days=365)
    plan = await api.plan(amount=1000)
    real = await api.subscribe(await api.customer(email="real@example.com"), plan)
    [first] = await api.invoices(subscription_id=real["id"])
    assert (first["number"], first["livemode"], first["test_clock"]) == (1, True, None)

    clock = await api.test_clock("2028-01-31T00:00:00Z")
    customer = await api.customer(email="sim@example.com", test_clock=clock["id"])
    assert customer["livemode"] is False
    simulated = await api.subscribe(customer, plan)  # the create invoice: the API path
    assert simulated["livemode"] is False
    await api.advance(clock, "2028-03-01T00:00:00Z")  # one renewal invoice: the engine's path
    invoices = sorted(await api.invoices(subscription_id=simulated["id"]), key=lambda i: i["number"])
    assert [(i["number"], i["livemode"], i["test_clock"]) for i in invoices] == [
        (1, False, clock["id"]),
        (2, False, clock["id"]),
    ]

    # A second clock counts from 1 too; the next real invoice is #2, not #4.
    other_clock = await api.test_clock("2028-01-31T00:00:00Z", name="other")
    other = await api.subscribe(await api.customer(email="sim2@example.com", test_clock=other_clock["id"]), plan)
    assert [i["number"] for i in await api.invoices(subscription_id=other["id"])] == [1]
    second_real = await api.subscribe(await api.customer(email="real2@example.com"), plan)
    [second] = await api.invoices(subscription_id=second_real["id"])
    assert (second["number"], second["livemode"]) == (2, True)
    assert (await api.subscription(real))["livemode"] is True


async def test_real_renewals_number_after_real_invoices_only(api: Api, clock) -> None:  # type: ignore[no-untyped-def]
    """The engine's real-time path: simulated invoices in between change nothing."""
    from datetime import timedelta

    plan = await api.plan(amount=1000, interval="day")
    real = await api.subscribe(await api.customer(email="real@example.com"), plan)
    test_clock = await api.test_clock("2028-01-31T00:00:00Z")
    simulated = await api.subscribe(await api.customer(email="sim@example.com", test_clock=test_clock["id"]), plan)
    await api.advance(test_clock, "2028-02-03T00:00:00Z")
    clock.set(clock.now() + timedelta(days=2))
    reply = await api.post("/v1/renewals")
    assert reply.status == 200, reply
    assert sorted(i["number"] for i in await api.invoices(subscription_id=real["id"])) == [1, 2, 3]
    assert sorted(i["number"] for i in await api.invoices(subscription_id=simulated["id"])) == [1, 2, 3, 4]


async def test_test_clocks_are_listed_newest_first_with_a_cursor(api: Api) -> None:
    made = [await api.test_clock("2028-01-01T00:00:00Z", name=f"clock {n}") for n in range(3)]
    page = await api.get("/v1/test_clocks", limit=2)
    assert page.status == 200, page
    assert [c["id"] for c in page["data"]] == [made[2]["id"], made[1]["id"]] and page["has_more"] is True
    rest = await api.get("/v1/test_clocks", limit=2, starting_after=made[1]["id"])
    assert [c["id"] for c in rest["data"]] == [made[0]["id"]] and rest["has_more"] is False
    other = await api.as_new_tenant()
    assert (await other.get("/v1/test_clocks"))["data"] == []


async def test_deleting_a_clock_removes_its_simulation_and_keeps_real_data(api: Api) -> None:
    await api.settings(grace_period_days=365)
    plan = await api.plan(amount=1000)
    new_plan = await api.plan(code="bigger", amount=3000)
    real = await api.subscribe(await api.customer(email="real@example.com"), plan)
    clock = await api.test_clock("2028-01-31T00:00:00Z")
    customer = await api.customer(email="sim@example.com", test_clock=clock["id"])
    simulated = await api.subscribe(customer, plan)
    # A pending proration item, then renewals: invoices, lines and items all exist.
    changed = await api.post(
        f"/v1/subscriptions/{simulated['id']}/change_plan",
        {"plan_id": new_plan["id"], "proration": "create_prorations"},
    )
    assert changed.status == 200, changed
    await api.advance(clock, "2028-04-01T00:00:00Z")
    simulated_invoices = await api.invoices(subscription_id=simulated["id"])
    assert len(simulated_invoices) >= 3

    reply = await api.call("DELETE", f"/v1/test_clocks/{clock['id']}")
    assert reply.status == 200, reply
    assert reply.body == {"id": clock["id"], "object": "test_clock", "deleted": True}

    assert (await api.get(f"/v1/test_clocks/{clock['id']}")).status == 404
    assert (await api.get(f"/v1/customers/{customer['id']}")).status == 404
    assert (await api.get(f"/v1/subscriptions/{simulated['id']}")).status == 404
    for invoice in simulated_invoices:
        assert (await api.get(f"/v1/invoices/{invoice['id']}")).status == 404
    assert (await api.call("DELETE", f"/v1/test_clocks/{clock['id']}")).status == 404
    # Real data untouched: the customer, subscription, invoice and its line.
    assert (await api.subscription(real))["status"] == "active"
    [invoice] = await api.invoices()
    assert (invoice["subscription_id"], invoice["number"], len(invoice["lines"])) == (real["id"], 1, 1)
    conn = await asyncpg.connect(api.database_url)
    try:
        left = await conn.fetchval(
            "SELECT (SELECT count(*) FROM customers WHERE test_clock_id IS NOT NULL)"
            " + (SELECT count(*) FROM subscriptions WHERE test_clock_id IS NOT NULL)"
            " + (SELECT count(*) FROM invoices WHERE test_clock_id IS NOT NULL)"
            " + (SELECT count(*) FROM invoice_items)"
            " + (SELECT count(*) FROM invoice_lines l JOIN invoices i ON i.tenant_id = l.tenant_id AND i.id = l.invoice_id"
            "    WHERE i.subscription_id <> $1)",
            real["id"],
        )
        assert left == 0
        assert await conn.fetchval("SELECT count(*) FROM customers") == 1
    finally:
        await conn.close()


async def test_a_clock_is_not_deleted_while_it_advances_nor_by_another_tenant(api: Api) -> None:
    clock = await api.test_clock("2028-01-31T00:00:00Z")
    customer = await api.customer(email="sim@example.com", test_clock=clock["id"])
    await api.subscribe(customer, await api.plan(amount=1000))
    other = await api.as_new_tenant()
    assert (await other.call("DELETE", f"/v1/test_clocks/{clock['id']}")).status == 404
    # Hold the advance: mark it advancing the way an accepted advance does, with a live lease
    # nobody renews, so no worker finishes it while we look.
    conn = await asyncpg.connect(api.database_url)
    try:
        await conn.execute(
            "UPDATE test_clocks SET status = 'advancing', lease_until = now() + interval '1 hour' WHERE id = $1",
            clock["id"],
        )
        refused = await api.call("DELETE", f"/v1/test_clocks/{clock['id']}")
        assert refused.status == 409, refused
        assert refused["type"].endswith("conflict") and "advancing" in refused["detail"]
        assert (await api.get(f"/v1/customers/{customer['id']}")).status == 200
        await conn.execute("UPDATE test_clocks SET status = 'ready', lease_until = NULL WHERE id = $1", clock["id"])
    finally:
        await conn.close()
    assert (await api.call("DELETE", f"/v1/test_clocks/{clock['id']}")).status == 200


async def test_deleting_waits_for_a_request_still_writing_for_the_clock_without_deadlock(api: Api) -> None:
    """A request that has written a row referencing a clock customer (foreign-key share
    lock) and then takes an invoice number from the clock's counter (as issue_invoice does)
    must finish, and the delete after it: the delete locks customers before the clock row.
    Locking the clock first would deadlock (PostgreSQL would abort one of the two)."""
    import asyncio
    import time

    clock = await api.test_clock("2028-01-31T00:00:00Z")
    customer = await api.customer(email="sim@example.com", test_clock=clock["id"])
    writer = await asyncpg.connect(api.database_url)
    watcher = await asyncpg.connect(api.database_url)
    try:
        tx = writer.transaction()
        await tx.start()
        await writer.execute("SELECT 1 FROM customers WHERE id = $1 FOR KEY SHARE", customer["id"])
        deleting = asyncio.ensure_future(api.call("DELETE", f"/v1/test_clocks/{clock['id']}"))
        deadline = time.monotonic() + 60
        while not await watcher.fetchval(
            "SELECT count(*) > 0 FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query LIKE '%FROM customers%FOR UPDATE%'"
        ):
            assert time.monotonic() < deadline and not deleting.done(), "the delete never waited for the writer"
            await asyncio.sleep(0.05)
        first = await writer.fetchval(
            "UPDATE test_clocks SET next_invoice_number = next_invoice_number + 1 WHERE id = $1 "
            "RETURNING next_invoice_number - 1",
            clock["id"],
        )
        assert first == 1
        await tx.commit()
        reply = await asyncio.wait_for(deleting, 60)
        assert reply.status == 200, reply
    finally:
        await writer.close()
        await watcher.close()
    assert (await api.get(f"/v1/customers/{customer['id']}")).status == 404
