"""Every event also goes to K_SINK as a binary-mode CloudEvent (at least once, by the same
dispatcher); old events are pruned by the periodic job in bounded batches."""

from __future__ import annotations

import asyncpg
from aiohttp import web
from cloudevents.http import from_http

from shared.db.engine import make_engine
from shared.events import dispatcher as dispatching
from shared.events.dispatcher import Dispatcher
from tests.client import Api
from tests.conftest import plain


async def test_events_go_to_the_sink_as_binary_cloudevents(api: Api, aiohttp_server) -> None:  # type: ignore[no-untyped-def]
    got: list[tuple[dict[str, str], bytes]] = []
    answers = [503]  # the first one fails: it is sent again

    async def sink(request: web.Request) -> web.Response:
        got.append((dict(request.headers), await request.read()))
        return web.Response(status=answers.pop(0) if answers else 202)

    app = web.Application()
    app.router.add_post("/", sink)
    server = await aiohttp_server(app, host="127.0.0.1")
    customer = await api.customer()
    await api.plan()
    engine = make_engine(api.database_url, pool_size=2, max_overflow=0)
    dispatcher = Dispatcher(engine, allow_private=True, k_sink=f"http://127.0.0.1:{server.port}/")
    try:
        assert await dispatcher.sink_round() == 1  # two events: the first answered 503
        await _sql(api, "UPDATE events SET sink_due_at = now() WHERE sink_due_at IS NOT NULL")  # skip the wait
        assert await dispatcher.sink_round() == 1
        assert await dispatcher.sink_round() == 0
    finally:
        await dispatcher.close()
        await engine.dispose()
    assert "ce-id" in got[0][0] and got[0][0]["Content-Type"] == "application/json"  # binary mode
    events = [from_http(headers, body) for headers, body in got]
    assert events[0]["id"] == events[2]["id"]  # the retry is the same CloudEvent
    created = next(e for e in events if e["type"] == "dev.billing.customer.created")
    assert created["subject"] == customer["id"]
    assert created["source"].startswith("/tenants/ten_")
    assert created.data["data"]["object"] == customer
    assert {e["type"] for e in events} == {"dev.billing.customer.created", "dev.billing.plan.created"}


async def test_old_events_are_pruned_in_bounded_batches(api: Api, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for n in range(5):
        await api.customer(email=f"c{n}@example.com")
    await _sql(
        api,
        "UPDATE events SET recorded_at = now() - interval '31 days' WHERE data->'object'->>'email' <> 'c4@example.com'",
    )
    monkeypatch.setattr(dispatching, "PRUNE_BATCH", 2)  # several batches
    engine = make_engine(api.database_url, pool_size=1, max_overflow=0)
    try:
        assert await Dispatcher(engine, retention_days=30).prune() == 4
    finally:
        await engine.dispose()
    [left] = (await api.get("/v1/events"))["data"]
    assert left["data"]["object"]["email"] == "c4@example.com"


async def _sql(api: Api, statement: str) -> None:
    conn = await asyncpg.connect(plain(api.database_url))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()
