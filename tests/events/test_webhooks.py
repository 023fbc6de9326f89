"""Events and webhooks end to end: a real receiver on loopback gets signed deliveries
(verified with the `standardwebhooks` reference package), retried, waited on, disabled."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import asyncpg
import pytest
from standardwebhooks import Webhook

from shared.clock import FrozenClock
from tests.client import Api
from tests.conftest import BOOTSTRAP_KEY, GENEROUS_LIMITS, plain
from tests.events.receiver import Receiver


@pytest.fixture
async def receiver(aiohttp_server) -> tuple[Receiver, str]:  # type: ignore[no-untyped-def]
    found = Receiver()
    server = await aiohttp_server(found.app(), host="127.0.0.1")
    return found, f"http://127.0.0.1:{server.port}/hooks"


@pytest.fixture
async def hooks(database_url: str, clock: FrozenClock, aiohttp_client) -> Api:  # type: ignore[no-untyped-def]
    """The whole API with the background dispatcher (as `billing serve` runs it), allowed
    to reach the loopback receiver."""
    from shared.runtime.app import make_app
    from shared.settings import Settings

    settings = Settings(
        database_url=database_url,
        bootstrap_api_key=BOOTSTRAP_KEY,
        webhook_allow_private=True,
        dispatch_poll_seconds=0.2,
        **GENEROUS_LIMITS,
    )
    client = await aiohttp_client(make_app(settings, clock=clock, dispatcher=True))
    return Api(client, BOOTSTRAP_KEY, database_url)


async def endpoint(api: Api, url: str, events: list[str] | None = None) -> dict[str, Any]:
    reply = await api.post("/v1/webhook_endpoints", {"url": url, "enabled_events": events or ["*"]})
    assert reply.status == 201, reply
    assert reply["secret"].startswith("whsec_")
    return reply.body


async def sql(api: Api, statement: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(plain(api.database_url))
    try:
        if not args and ";" in statement:  # several statements (no parameters)
            await conn.execute(statement)
            return []
        return await conn.fetch(statement, *args)
    finally:
        await conn.close()


async def deliveries(api: Api, endpoint_id: str) -> list[dict[str, Any]]:
    reply = await api.get(f"/v1/webhook_endpoints/{endpoint_id}/deliveries", limit=100)
    assert reply.status == 200, reply
    return reply["data"]  # type: ignore[no-any-return]


async def test_a_subscription_story_arrives_signed_and_in_per_object_order(
    hooks: Api, receiver: tuple[Receiver, str]
) -> None:
    found, url = receiver
    await hooks.settings(days_until_due=0, grace_period_days=365)
    hook = await endpoint(hooks, url, ["subscription.*", "invoice.*"])
    clock = await hooks.test_clock("2030-01-15T00:00:00Z")
    customer = await hooks.customer(test_clock=clock["id"])
    subscription = await hooks.subscribe(customer, await hooks.plan(amount=1999))
    await hooks.advance(clock, "2030-02-16T00:00:00Z")  # one renewal; the first invoice is overdue
    invoices = sorted(await hooks.invoices(subscription_id=subscription["id"]), key=lambda i: i["number"])
    for invoice in invoices:
        assert (await hooks.post(f"/v1/invoices/{invoice['id']}/pay")).status == 200
    assert (await hooks.post(f"/v1/subscriptions/{subscription['id']}/cancel", {})).status == 200

    expected = {
        subscription["id"]: [
            "subscription.created",
            "subscription.renewed",
            "subscription.past_due",
            "subscription.updated",  # active again once everything is paid
            "subscription.canceled",
        ],
        # Both invoices were overdue when the clock's advance finished (due at once).
        **{
            i["id"]: ["invoice.created", "invoice.finalized", "invoice.payment_overdue", "invoice.paid"]
            for i in invoices
        },
    }
    total = sum(map(len, expected.values()))
    await found.wait_for(lambda: len(found.received) >= total)
    events = found.verified(hook["secret"])  # every delivery verifies with the reference package
    assert len(events) == total
    per_object: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        per_object.setdefault(event["data"]["object"]["id"], []).append(event)
    assert {k: [e["type"] for e in v] for k, v in per_object.items()} == expected
    for object_events in per_object.values():
        sequences = [e["sequence"] for e in object_events]
        assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)
    # The webhook-id is the event id; the body is the event as the API serves it.
    for received in found.received:
        event = received.event
        assert received.headers["webhook-id"] == event["id"]
        assert (await hooks.get(f"/v1/events/{event['id']}")).body == event
    # data.object is the object as the API rendered it at that moment.
    last_invoice_event = per_object[invoices[-1]["id"]][-1]
    assert last_invoice_event["data"]["object"] == (await hooks.get(f"/v1/invoices/{invoices[-1]['id']}")).body
    canceled = per_object[subscription["id"]][-1]
    assert canceled["data"]["object"] == await hooks.subscription(subscription)
    assert canceled["data"]["previous_attributes"]["status"] == "active"
    assert canceled["request"]["id"] and canceled["request"]["api_key"]
    assert canceled["test_clock"] == clock["id"] and canceled["livemode"] is False
    renewed = per_object[subscription["id"]][1]
    assert renewed["renewal_run"] is not None and renewed["request"] is None
    assert renewed["data"]["previous_attributes"]["current_period_start"] == "2030-01-15T00:00:00Z"
    assert all(d["status"] == "delivered" and d["attempts"] == 1 for d in await deliveries(hooks, hook["id"]))

    # The events API: filters by type pattern, object and time; cursor pagination.
    listed = await hooks.get("/v1/events", type="invoice.*", limit=100)
    assert {e["type"] for e in listed["data"]} == {
        "invoice.created",
        "invoice.finalized",
        "invoice.payment_overdue",
        "invoice.paid",
    }
    by_object = await hooks.get("/v1/events", object_id=subscription["id"], limit=100)
    assert [e["type"] for e in reversed(by_object["data"])] == expected[subscription["id"]]
    first = await hooks.get("/v1/events", limit=2)
    second = await hooks.get("/v1/events", limit=2, starting_after=first["data"][-1]["id"])
    assert first["has_more"] and second["data"][0]["id"] < first["data"][-1]["id"]
    late = await hooks.get("/v1/events", **{"created[gte]": "2030-02-01T00:00:00Z", "type": "subscription.*"})
    assert "subscription.created" not in {e["type"] for e in late["data"]}
    assert (await hooks.get("/v1/events", type="invoice.*", **{"created[gte]": "nonsense"})).status == 422

    # Replay a time range: every subscribed event again, same webhook-id.
    before = len(found.received)
    reply = await hooks.post(
        f"/v1/webhook_endpoints/{hook['id']}/replay",
        {"created[gte]": "2030-01-01T00:00:00Z", "created[lt]": "2031-01-01T00:00:00Z"},
    )
    assert reply.status == 200 and reply["deliveries_created"] == total, reply
    await found.wait_for(lambda: len(found.received) >= before + total)
    assert sorted(r.headers["webhook-id"] for r in found.received[before:]) == sorted(
        r.headers["webhook-id"] for r in found.received[:before]
    )


async def test_retries_wait_and_disable(hooks: Api, receiver: tuple[Receiver, str]) -> None:
    found, url = receiver
    hook = await endpoint(hooks, url, ["customer.*"])

    # 500, then 200 on the retry: the same webhook-id both times.
    found.script = [(500, {})]
    await hooks.customer(email="one@example.com")
    await found.wait_for(lambda: len(found.received) == 1)
    [delivery] = await _settled(hooks, hook["id"], lambda d: d["attempts"] == 1 and d["last_status_code"] == 500)
    assert delivery["status"] == "pending" and len(delivery["last_response_body"]) == 2048
    [row] = await sql(hooks, "SELECT next_attempt_at - last_attempt_at AS wait FROM webhook_deliveries")
    # 5 s +- 20 % jitter, counted from the claim (the send itself may take a while on a busy machine).
    assert timedelta(seconds=4) <= row["wait"] <= timedelta(seconds=6 + 30)
    retried = await hooks.post(f"/v1/webhook_endpoints/{hook['id']}/deliveries/{delivery['id']}/retry")
    assert retried.status == 200, retried
    await found.wait_for(lambda: len(found.received) == 2)
    [delivery] = await _settled(hooks, hook["id"], lambda d: d["status"] == "delivered")
    assert delivery["attempts"] == 2
    assert found.received[0].headers["webhook-id"] == found.received[1].headers["webhook-id"]
    found.verified(hook["secret"])

    # 429 with Retry-After: the next attempt waits exactly that long.
    found.script = [(429, {"Retry-After": "120"})]
    await hooks.customer(email="two@example.com")
    await found.wait_for(lambda: len(found.received) == 3)
    pending = await _settled(hooks, hook["id"], lambda d: d["status"] == "pending" and d["last_status_code"] == 429)
    [row] = await sql(
        hooks,
        "SELECT next_attempt_at - last_attempt_at AS wait FROM webhook_deliveries WHERE id = $1",
        pending[0]["id"],
    )
    assert timedelta(seconds=120) <= row["wait"] <= timedelta(seconds=120 + 30)

    # After a rotation both secrets sign, each verifies alone.
    rotated = await hooks.post(f"/v1/webhook_endpoints/{hook['id']}/rotate_secret")
    assert rotated.status == 200 and rotated["secret"] != hook["secret"]
    await hooks.post(f"/v1/webhook_endpoints/{hook['id']}/deliveries/{pending[0]['id']}/retry")
    await found.wait_for(lambda: len(found.received) == 4)
    last = found.received[-1]
    assert len(last.headers["webhook-signature"].split(" ")) == 2
    Webhook(hook["secret"]).verify(last.body, last.headers)
    Webhook(rotated["secret"]).verify(last.body, last.headers)

    # 410 Gone disables the endpoint at once; nothing more is sent to it.
    found.script = [(410, {})]
    await hooks.customer(email="three@example.com")
    await found.wait_for(lambda: len(found.received) == 5)
    got = await _until(hooks, f"/v1/webhook_endpoints/{hook['id']}", lambda e: e["status"] == "disabled")
    assert "410" in got["disabled_reason"]
    assert (await hooks.patch(f"/v1/webhook_endpoints/{hook['id']}", {"disabled": False}))["status"] == "enabled"

    # Failing for 3 days disables it too, and says so with an event.
    await sql(hooks, "UPDATE webhook_endpoints SET failing_since = now() - interval '3 days 1 minute'")
    found.script = [(500, {})]
    await hooks.customer(email="four@example.com")
    got = await _until(hooks, f"/v1/webhook_endpoints/{hook['id']}", lambda e: e["status"] == "disabled")
    assert got["disabled_reason"] == "every delivery failed for 3 days"
    [event] = (await hooks.get("/v1/events", type="webhook_endpoint.*"))["data"]
    assert event["type"] == "webhook_endpoint.disabled" and event["data"]["object"]["id"] == hook["id"]


async def _until(api: Api, path: str, done: Any, seconds: float = 60.0) -> dict[str, Any]:
    import asyncio
    import time

    deadline = time.monotonic() + seconds
    while True:
        reply = await api.get(path)
        if done(reply.body) or time.monotonic() > deadline:
            assert done(reply.body), reply
            return reply.body  # type: ignore[no-any-return]
        await asyncio.sleep(0.05)


async def _settled(api: Api, endpoint_id: str, done: Any, seconds: float = 60.0) -> list[dict[str, Any]]:
    """The deliveries matching `done` once the dispatcher recorded them (newest first)."""
    import asyncio
    import time

    deadline = time.monotonic() + seconds
    while True:
        matching = [d for d in await deliveries(api, endpoint_id) if done(d)]
        if matching or time.monotonic() > deadline:
            assert matching, await deliveries(api, endpoint_id)
            return matching
        await asyncio.sleep(0.05)


async def test_endpoints_are_tenant_scoped_and_private_targets_refused(api: Api) -> None:
    # The plain `api` app: BILLING_WEBHOOK_ALLOW_PRIVATE is false.
    for url in (
        "https://127.0.0.1/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.8/x",
        "https://[::1]/x",
        "http://example.com/hooks",
        "https://localhost/hooks",
    ):
        reply = await api.post("/v1/webhook_endpoints", {"url": url, "enabled_events": ["*"]})
        assert reply.status == 422, (url, reply)
        assert reply.headers["Content-Type"].startswith("application/problem+json")
    assert (await api.get("/v1/webhook_endpoints"))["data"] == []

    from shared.db.engine import make_engine, make_sessionmaker
    from shared.db.uow import UnitOfWork
    from shared.services import webhooks

    # Created with private targets allowed (as the tests' own receivers are)...
    engine = make_engine(api.database_url, pool_size=1, max_overflow=0)
    try:
        other = await api.as_new_tenant()
        mine = await webhooks.create_endpoint(
            UnitOfWork(make_sessionmaker(engine)),
            (await api.get("/v1/settings"))["id"] if False else await _tenant_of(api),
            FrozenClock(datetime(2026, 1, 1).astimezone()),
            url="http://127.0.0.1:9/x",
            enabled_events=["*"],
            description=None,
            allow_private=True,
        )
    finally:
        await engine.dispose()
    # ...an endpoint is invisible to another tenant.
    assert (await api.get(f"/v1/webhook_endpoints/{mine.id}")).status == 200
    for method, path in [
        ("GET", f"/v1/webhook_endpoints/{mine.id}"),
        ("PATCH", f"/v1/webhook_endpoints/{mine.id}"),
        ("DELETE", f"/v1/webhook_endpoints/{mine.id}"),
        ("POST", f"/v1/webhook_endpoints/{mine.id}/rotate_secret"),
        ("GET", f"/v1/webhook_endpoints/{mine.id}/deliveries"),
    ]:
        assert (await other.call(method, path, {} if method != "GET" else None)).status == 404, (method, path)
    assert (await other.get("/v1/webhook_endpoints"))["data"] == []
    customer = await api.customer()
    [event] = (await api.get("/v1/events", object_id=customer["id"]))["data"]
    assert (await other.get(f"/v1/events/{event['id']}")).status == 404
    assert (await other.get("/v1/events"))["data"] == []
    # The owner deletes it.
    deleted = await api.call("DELETE", f"/v1/webhook_endpoints/{mine.id}")
    assert deleted.status == 200 and deleted["deleted"] is True


async def _tenant_of(api: Api) -> str:
    rows = await sql(api, "SELECT tenant_id FROM api_keys WHERE bootstrap")
    return rows[0]["tenant_id"]  # type: ignore[no-any-return]


async def test_a_rolled_back_request_and_a_failed_renewal_batch_leave_no_event(api: Api) -> None:
    await api.customer(email="ada@example.com")
    count = len((await api.get("/v1/events", limit=100))["data"])
    assert (await api.post("/v1/customers", {"email": "ada@example.com", "name": "Again"})).status == 409
    assert len((await api.get("/v1/events", limit=100))["data"]) == count

    clock = await api.test_clock("2030-01-15T00:00:00Z")
    subscription = await api.subscribe(
        await api.customer(email="b@example.com", test_clock=clock["id"]), await api.plan()
    )
    # The batch fails at its commit, after its invoices and events were written.
    await sql(
        api,
        """
        CREATE FUNCTION fail_renewal() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'renewal batch fails'; END $$;
        CREATE CONSTRAINT TRIGGER fail_renewal AFTER INSERT ON events DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW WHEN (NEW.renewal_run IS NOT NULL) EXECUTE FUNCTION fail_renewal();
        """,
    )
    from shared.db.engine import make_engine
    from shared.renewal.engine import Scope, renew

    engine = make_engine(api.database_url, pool_size=2, max_overflow=0)
    try:
        with pytest.raises(asyncpg.RaiseError):
            await renew(engine, Scope(test_clock_id=clock["id"]), datetime.fromisoformat("2030-03-01T00:00:00+00:00"))
    finally:
        await engine.dispose()
    assert await sql(api, "SELECT id FROM events WHERE renewal_run IS NOT NULL") == []
    assert len(await api.invoices(subscription_id=subscription["id"])) == 1  # the first one only
    assert (await api.subscription(subscription))["current_period_start"] == "2030-01-15T00:00:00Z"


async def test_an_endpoint_that_fails_holds_back_the_rest_of_its_round(
    api: Api, receiver: tuple[Receiver, str]
) -> None:
    """A failing (or hanging) endpoint costs one attempt per round, not one per delivery: the
    deliveries behind the failed one are not sent, keep their attempts and wait for its retry,
    then go in event order."""
    from shared.db.engine import make_engine
    from shared.events.dispatcher import Dispatcher

    found, url = receiver
    hook = await endpoint(api, "https://example.com/hooks", ["customer.*"])
    await sql(api, "UPDATE webhook_endpoints SET url = $1", url)  # the loopback receiver (refused over the API)
    for n in range(3):
        await api.customer(email=f"held{n}@example.com")
    found.script = [(500, {})]
    engine = make_engine(api.database_url, pool_size=2, max_overflow=0)
    dispatcher = Dispatcher(engine, allow_private=True)
    try:
        first = await dispatcher.deliver_round()
        assert (first.claimed, first.delivered, first.failed, len(found.received)) == (3, 0, 1, 1)
        rows = await sql(
            api,
            "SELECT d.attempts, d.status, d.next_attempt_at, d.last_attempt_at FROM webhook_deliveries d"
            " JOIN events e ON e.tenant_id = d.tenant_id AND e.id = d.event_id ORDER BY e.seq",
        )
        assert [(r["attempts"], r["status"]) for r in rows] == [(1, "pending"), (0, "pending"), (0, "pending")]
        assert rows[1]["last_attempt_at"] is None and rows[1]["next_attempt_at"] == rows[0]["next_attempt_at"]
        await sql(api, "UPDATE webhook_deliveries SET next_attempt_at = now()")  # skip the wait
        second = await dispatcher.drain()
        assert (second.delivered, second.failed) == (3, 0)
    finally:
        await dispatcher.close()
        await engine.dispose()
    emails = [r.event["data"]["object"]["email"] for r in found.received]
    assert emails == ["held0@example.com", "held0@example.com", "held1@example.com", "held2@example.com"]
    assert [d["attempts"] for d in reversed(await deliveries(api, hook["id"]))] == [2, 1, 1]
