"""A renewal batch stores each object's payload once for all its events of the batch (a
renewed invoice's created, finalized and paid: migration 0013); every reader still returns
each event whole: GET /v1/events and /v1/events/{id}, webhook deliveries, CloudEvents, and
events pruned oldest-first never leave one without its payload."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import web
from cloudevents.http import from_http

from shared.clock import FrozenClock
from shared.db.engine import make_engine
from shared.db.event_writer import EVENT_DATA
from shared.events.dispatcher import PRUNE, Dispatcher
from tests.client import Api
from tests.conftest import BOOTSTRAP_KEY, GENEROUS_LIMITS
from tests.events.receiver import Receiver
from tests.events.test_webhooks import endpoint, sql


@pytest.fixture
async def api(database_url: str, clock: FrozenClock, aiohttp_client) -> Api:  # type: ignore[no-untyped-def]
    """The API allowed to name a loopback receiver; no background dispatcher (drained here)."""
    from shared.runtime.app import make_app
    from shared.settings import Settings

    settings = Settings(
        database_url=database_url, bootstrap_api_key=BOOTSTRAP_KEY, webhook_allow_private=True, **GENEROUS_LIMITS
    )
    return Api(await aiohttp_client(make_app(settings, clock=clock)), BOOTSTRAP_KEY, database_url)


def _text(value: Any) -> str:
    return json.dumps(value)  # in the order the reader gave: equal texts, equal bytes on the wire


async def test_renewed_invoices_store_their_payload_once_and_every_reader_gets_it(api: Api, aiohttp_server) -> None:  # type: ignore[no-untyped-def]
    receiver = Receiver()
    hooks = await aiohttp_server(receiver.app(), host="127.0.0.1")
    sunk: list[tuple[dict[str, str], bytes]] = []

    async def sink(request: web.Request) -> web.Response:
        sunk.append((dict(request.headers), await request.read()))
        return web.Response(status=202)

    app = web.Application()
    app.router.add_post("/", sink)
    sink_server = await aiohttp_server(app, host="127.0.0.1")

    await api.settings(days_until_due=45, grace_period_days=365)
    clock = await api.test_clock("2030-01-15T00:00:00Z")
    plan = await api.plan(amount=1999)
    ada = await api.customer("ada@example.com", test_clock=clock["id"])
    rex = await api.customer("rex@example.com", test_clock=clock["id"])
    open_one, paid_one = await api.subscribe(ada, plan), await api.subscribe(rex, plan)
    credit = await api.post(
        f"/v1/customers/{rex['id']}/balance_transactions",
        {"amount": -10_000, "currency": "USD", "description": "goodwill"},
    )
    assert credit.status == 201, credit
    await sql(api, "UPDATE events SET sink_due_at = NULL")  # the sink gets the renewal's events only
    hook = await endpoint(api, f"http://127.0.0.1:{hooks.port}/hooks", ["invoice.*"])
    await api.advance(clock, "2030-02-16T00:00:00Z")  # one renewal each, one batch

    renewals = {}
    for subscription, types in (
        (open_one, ["invoice.created", "invoice.finalized"]),
        (paid_one, ["invoice.created", "invoice.finalized", "invoice.paid"]),
    ):
        [invoice] = [
            i
            for i in await api.invoices(subscription_id=subscription["id"])
            if i["billing_reason"] == "subscription_cycle"
        ]
        # Stored once: on the invoice's last event of the batch; the others name that event.
        stored = await sql(
            api,
            "SELECT id, type, data IS NOT NULL AS holds, data_event FROM events WHERE object_id = $1 ORDER BY seq",
            invoice["id"],
        )
        assert [r["type"] for r in stored] == types
        assert [r["holds"] for r in stored] == [False] * (len(types) - 1) + [True]
        assert [r["data_event"] for r in stored] == [stored[-1]["id"]] * (len(types) - 1) + [None]
        renewals[invoice["id"]] = (invoice, [r["id"] for r in stored])

    engine = make_engine(api.database_url, pool_size=2, max_overflow=0)
    dispatcher = Dispatcher(engine, allow_private=True, k_sink=f"http://127.0.0.1:{sink_server.port}/")
    try:
        done = await dispatcher.drain()
    finally:
        await dispatcher.close()
        await engine.dispose()
    assert done.delivered == 5 and len(receiver.received) == 5
    delivered = {e["id"]: e for e in receiver.verified(hook["secret"])}
    cloud = {c["id"]: c.data for c in (from_http(h, b) for h, b in sunk)}

    listed = (await api.get("/v1/events", limit=100, type="invoice.*"))["data"]
    for invoice, ids in renewals.values():
        got = (await api.get(f"/v1/invoices/{invoice['id']}")).body
        texts = set()
        for event_id in ids:
            one = (await api.get(f"/v1/events/{event_id}")).body
            assert one["data"] == {"object": got}
            in_list = next(e for e in listed if e["id"] == event_id)
            assert in_list == one and delivered[event_id] == one and cloud[event_id] == one
            texts |= {_text(one["data"]), _text(in_list["data"]), _text(delivered[event_id]["data"])}
        assert len(texts) == 1  # byte-identical, key order included, whichever event and reader

    # Pruned oldest first, one event at a time: no event left is ever without its payload.
    await sql(api, "UPDATE events SET recorded_at = now() - interval '31 days'")
    for _ in range(200):  # bounded: a few dozen events
        await sql(api, PRUNE, 30, 1)
        orphans = await sql(api, f"SELECT ev.id FROM events ev WHERE {EVENT_DATA} IS NULL")
        assert orphans == []
        if not await sql(api, "SELECT 1 FROM events LIMIT 1"):
            break
    assert await sql(api, "SELECT id FROM events") == []
