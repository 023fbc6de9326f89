"""Test-clock advances run outside the request: the reply comes at once (`advancing`), a
background worker renews the clock's customers in bounded batches, and the clock turns
`ready` only when nothing of it is left due."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import asyncpg

from shared.clock import FrozenClock
from tests.client import Api
from tests.conftest import BOOTSTRAP_KEY


async def app_api(aiohttp_client: Any, database_url: str, clock: FrozenClock, **settings: Any) -> Api:
    """Like the `api` fixture, with settings of our choosing."""
    from shared.runtime.app import make_app
    from shared.settings import Settings

    app = make_app(Settings(database_url=database_url, bootstrap_api_key=BOOTSTRAP_KEY, **settings), clock=clock)
    return Api(await aiohttp_client(app), BOOTSTRAP_KEY, database_url)


def days(start: str, end: str) -> int:
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(UTC)  # noqa: E731
    return (parse(end) - parse(start)).days


async def start_advance(api: Api, clock: dict, frozen_time: str) -> dict:
    reply = await api.post(f"/v1/test_clocks/{clock['id']}/advance", {"frozen_time": frozen_time})
    assert reply.status == 200, reply
    return reply.body


async def lock_subscription(database_url: str, subscription: dict) -> tuple[asyncpg.Connection, Any]:
    """Hold a subscription's row lock on another connection, as a slow request would."""
    conn = await asyncpg.connect(database_url)
    tx = conn.transaction()
    await tx.start()
    await conn.execute("SELECT 1 FROM subscriptions WHERE id = $1 FOR UPDATE", subscription["id"])
    return conn, tx


async def test_ten_concurrent_advances_do_not_starve_the_pool(api: Api) -> None:
    """Before: each advance held a pooled connection while its renewal waited for more from
    the same pool; ten of them exhausted it, failed with 500 after 30 s, and every other
    tenant's requests waited too."""
    plan = await api.plan(amount=0)
    clocks = []
    for n in range(10):
        clock = await api.test_clock("2026-01-01T00:00:00Z", name=f"clock {n}")
        subscriptions = []
        for k in range(3):
            customer = await api.customer(email=f"c{n}-{k}@example.com", test_clock=clock["id"])
            subscriptions.append(await api.subscribe(customer, plan))
        clocks.append((clock, subscriptions))
    other = await api.as_new_tenant()
    other_customer = await other.customer()

    done = asyncio.Event()
    statuses: list[int] = []
    latencies: list[float] = []

    async def other_tenant() -> None:
        for n in range(2000):  # bounded in count; stops once the advances are done
            started = time.perf_counter()
            reply = (
                await other.get(f"/v1/customers/{other_customer['id']}")
                if n % 2
                else await other.post("/v1/customers", {"email": f"o{n}@example.com", "name": "O"})
            )
            latencies.append(time.perf_counter() - started)
            statuses.append(reply.status)
            if done.is_set() and n >= 20:
                return

    background = asyncio.create_task(other_tenant())
    try:
        replies = await asyncio.gather(
            *(
                api.post(f"/v1/test_clocks/{c['id']}/advance", {"frozen_time": "2027-01-01T00:00:00Z"})
                for c, _ in clocks
            )
        )
        assert [r.status for r in replies] == [200] * 10, replies
        for clock, _ in clocks:
            assert (await api.wait_ready(clock))["frozen_time"] == "2027-01-01T00:00:00Z"
        done.set()
        await asyncio.wait_for(background, 120)
    finally:
        background.cancel()
    assert set(statuses) <= {200, 201}, sorted(set(statuses))
    for _, subscriptions in clocks:
        for subscription in subscriptions:
            periods = await api.periods(subscription)
            assert len(periods) == 13 and periods[-1][0] == "2027-01-01T00:00:00Z", periods
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(
        f"\nother tenant during 10 concurrent advances: {len(ordered)} requests, "
        f"p50 {ordered[len(ordered) // 2] * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms"
    )


async def test_a_long_advance_replies_at_once_and_renews_in_bounded_batches(
    aiohttp_client, database_url, clock
) -> None:  # type: ignore[no-untyped-def]
    budget = 1000
    api = await app_api(aiohttp_client, database_url, clock, renewal_invoice_budget=budget)
    frozen = await api.test_clock("2030-01-01T00:00:00Z")
    daily = await api.subscribe(
        await api.customer(email="d@example.com", test_clock=frozen["id"]),
        await api.plan(code="daily", amount=0, interval="day"),
    )
    monthly = await api.subscribe(
        await api.customer(email="m@example.com", test_clock=frozen["id"]), await api.plan(code="monthly", amount=0)
    )
    target = "2060-01-01T00:00:00Z"
    # A request holds the monthly subscription while the advance starts: the clock cannot
    # be ready before it is released, so "meanwhile" below is not a race.
    conn, tx = await lock_subscription(database_url, monthly)
    try:
        reply = await start_advance(api, frozen, target)
        assert (reply["status"], reply["frozen_time"]) == ("advancing", target)
        again = await api.post(f"/v1/test_clocks/{frozen['id']}/advance", {"frozen_time": "2061-01-01T00:00:00Z"})
        assert again.status == 409 and "advancing" in again["detail"], again
        assert (await api.get(f"/v1/test_clocks/{frozen['id']}"))["status"] == "advancing"
    finally:
        await tx.rollback()
        await conn.close()
    assert (await api.wait_ready(frozen))["frozen_time"] == target

    expected = days("2030-01-01T00:00:00Z", target) + 1  # the first invoice, then one a day
    invoices = await invoices_of(database_url, daily["id"])
    assert len(invoices) == expected
    assert invoices[0]["period_start"] == datetime(2030, 1, 1, tzinfo=UTC)
    assert invoices[-1]["period_start"] == datetime(2060, 1, 1, tzinfo=UTC)
    assert all(a["period_end"] == b["period_start"] for a, b in zip(invoices, invoices[1:]))
    assert len(await invoices_of(database_url, monthly["id"])) == 30 * 12 + 1
    from shared.runtime.app_state import ADVANCES

    runs = [run for run in api.client.app[ADVANCES].history if run.clock_id == frozen["id"]]
    assert runs and runs[-1].finished
    reports = [report for run in runs for report in run.reports]
    assert sum(r.invoices_created for r in reports) == expected - 1 + 30 * 12
    assert max(r.max_batch_invoices for r in reports) <= budget
    assert sum(r.batches for r in reports) >= (expected - 1) // budget


async def invoices_of(database_url: str, subscription_id: str) -> list:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetch(
            "SELECT number, period_start, period_end FROM invoices WHERE subscription_id = $1 ORDER BY period_start",
            subscription_id,
        )
    finally:
        await conn.close()


async def test_a_locked_subscription_keeps_the_clock_advancing_until_it_is_renewed(api: Api) -> None:
    """Before: the claim's SKIP LOCKED passed over a row another request held, and the clock
    said `ready` with that subscription never renewed."""
    frozen = await api.test_clock("2026-01-01T00:00:00Z")
    plan = await api.plan(amount=0)
    held = await api.subscribe(await api.customer(email="held@example.com", test_clock=frozen["id"]), plan)
    free = await api.subscribe(await api.customer(email="free@example.com", test_clock=frozen["id"]), plan)
    conn, tx = await lock_subscription(api.database_url, held)
    try:
        await start_advance(api, frozen, "2026-04-15T00:00:00Z")
        for _ in range(200):  # the free one is renewed while the held one waits
            if len(await api.periods(free)) == 4:
                break
            await asyncio.sleep(0.1)
        assert len(await api.periods(free)) == 4
        for _ in range(3):
            assert (await api.get(f"/v1/test_clocks/{frozen['id']}"))["status"] == "advancing"
            await asyncio.sleep(0.3)
        # Writes at the clock's customers' time wait for it; reads do not.
        cancel = await api.post(f"/v1/subscriptions/{free['id']}/cancel", {"at_period_end": False})
        assert cancel.status == 409 and "advancing" in cancel["detail"], cancel
        created = await api.post("/v1/subscriptions", {"customer_id": free["customer_id"], "plan_id": plan["id"]})
        assert created.status == 409, created
        assert (await api.get(f"/v1/subscriptions/{free['id']}")).status == 200
    finally:
        await tx.rollback()
        await conn.close()
    assert (await api.wait_ready(frozen))["status"] == "ready"
    assert len(await api.periods(held)) == 4
    assert (await api.post(f"/v1/subscriptions/{free['id']}/cancel", {"at_period_end": False})).status == 200


async def test_the_renewal_cloudevent_finishes_an_advance_nobody_works_on(aiohttp_client, database_url, clock) -> None:  # type: ignore[no-untyped-def]
    """On Knative the pod that accepted an advance may scale to zero right after replying:
    the every-minute renewal ping picks the advance up."""
    from shared.db.engine import make_engine, make_sessionmaker
    from shared.db.uow import UnitOfWork
    from shared.runtime.app import make_app
    from shared.runtime.registry import all_operations
    from shared.schemas.test_clocks import TestClockAdvance
    from shared.services.test_clocks import advance_test_clock
    from shared.settings import Settings

    # Every function but the advance itself, so no background worker runs in this process.
    operations = tuple(op for op in all_operations() if op.name != "advance-test-clock")
    settings = Settings(database_url=database_url, bootstrap_api_key=BOOTSTRAP_KEY)
    api = Api(await aiohttp_client(make_app(settings, operations=operations, clock=clock)), BOOTSTRAP_KEY, database_url)
    frozen = await api.test_clock("2026-01-01T00:00:00Z")
    subscription = await api.subscribe(await api.customer(test_clock=frozen["id"]), await api.plan(amount=0))
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    try:
        conn = await asyncpg.connect(database_url)
        try:
            tenant_id = await conn.fetchval("SELECT tenant_id FROM test_clocks WHERE id = $1", frozen["id"])
        finally:
            await conn.close()
        accepted = await advance_test_clock(
            UnitOfWork(make_sessionmaker(engine)),
            tenant_id,
            frozen["id"],
            frozen_time=TestClockAdvance.model_validate_json('{"frozen_time": "2026-07-01T00:00:00Z"}').frozen_time,
        )
    finally:
        await engine.dispose()
    assert accepted.status == "advancing"
    assert (await api.get(f"/v1/test_clocks/{frozen['id']}"))["status"] == "advancing"

    ping = await api.with_key(None).call(
        "POST",
        "/cloudevents/renew",
        raw=b"{}",
        headers={
            "ce-specversion": "1.0",
            "ce-type": "dev.knative.sources.ping",
            "ce-source": "/ping",
            "ce-id": "p1",
            "Content-Type": "application/json",
        },
    )
    assert ping.status == 200, ping
    assert (await api.get(f"/v1/test_clocks/{frozen['id']}"))["status"] == "ready"
    assert len(await api.periods(subscription)) == 7


def test_advance_settings_come_from_the_environment() -> None:
    import pytest

    from shared.settings import Settings

    defaults = Settings.from_env({})
    assert (defaults.clock_lease_seconds, defaults.clock_poll_seconds, defaults.renewal_invoice_budget) == (30, 5, 5000)
    chosen = Settings.from_env(
        {"BILLING_CLOCK_LEASE_SECONDS": "3", "BILLING_CLOCK_POLL_SECONDS": "1", "BILLING_RENEWAL_INVOICE_BUDGET": "500"}
    )
    assert (chosen.clock_lease_seconds, chosen.clock_poll_seconds, chosen.renewal_invoice_budget) == (3, 1, 500)
    for bad in ("0", "-1", "soon"):
        with pytest.raises(SystemExit):
            Settings.from_env({"BILLING_CLOCK_LEASE_SECONDS": bad})


async def test_a_worker_that_lost_its_lease_never_marks_the_clock_ready(aiohttp_client, database_url, clock) -> None:  # type: ignore[no-untyped-def]
    """If a worker stalls past its lease and another takes the clock over, the first one
    stops at its next heartbeat and, whatever it did meanwhile, cannot say `ready`."""
    from shared.db.engine import make_engine, make_sessionmaker
    from shared.db.uow import UnitOfWork
    from shared.renewal.clock_advances import advance_one
    from shared.runtime.app import make_app
    from shared.runtime.registry import all_operations
    from shared.schemas.test_clocks import TestClockAdvance
    from shared.services.test_clocks import advance_test_clock
    from shared.settings import Settings

    operations = tuple(op for op in all_operations() if op.name != "advance-test-clock")  # no worker here
    settings = Settings(database_url=database_url, bootstrap_api_key=BOOTSTRAP_KEY)
    api = Api(await aiohttp_client(make_app(settings, operations=operations, clock=clock)), BOOTSTRAP_KEY, database_url)
    frozen = await api.test_clock("2030-01-01T00:00:00Z")
    subscription = await api.subscribe(
        await api.customer(test_clock=frozen["id"]), await api.plan(code="daily", amount=0, interval="day")
    )
    target = "2060-01-01T00:00:00Z"
    engine = make_engine(database_url, pool_size=4, max_overflow=0)
    conn = await asyncpg.connect(database_url)
    try:
        tenant_id = await conn.fetchval("SELECT tenant_id FROM test_clocks WHERE id = $1", frozen["id"])
        await advance_test_clock(
            UnitOfWork(make_sessionmaker(engine)),
            tenant_id,
            frozen["id"],
            frozen_time=TestClockAdvance.model_validate_json(f'{{"frozen_time": "{target}"}}').frozen_time,
        )
        first = asyncio.create_task(advance_one(engine, lease_seconds=3, invoice_budget=100))
        for _ in range(6000):  # bounded: until it has committed some batches
            if await conn.fetchval("SELECT count(*) FROM invoices") >= 300 or first.done():
                break
            await asyncio.sleep(0.01)
        # Another worker takes over (as if the first one's lease had run out).
        await conn.execute("UPDATE test_clocks SET lease_until = now() + interval '1 hour' WHERE id = $1", frozen["id"])
        run = await asyncio.wait_for(first, 120)
        assert run is not None and not run.finished
        assert await conn.fetchval("SELECT status FROM test_clocks WHERE id = $1", frozen["id"]) == "advancing"

        await conn.execute("UPDATE test_clocks SET lease_until = NULL WHERE id = $1", frozen["id"])  # its lease ends
        second = await advance_one(engine, lease_seconds=30, invoice_budget=1000)
        assert second is not None and second.finished
    finally:
        await conn.close()
        await engine.dispose()
    assert (await api.get(f"/v1/test_clocks/{frozen['id']}"))["status"] == "ready"
    invoices = await invoices_of(database_url, subscription["id"])
    assert len(invoices) == days("2030-01-01T00:00:00Z", target) + 1
    assert len({i["period_start"] for i in invoices}) == len(invoices)
