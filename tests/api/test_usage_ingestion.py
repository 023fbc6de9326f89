"""The usage ingestion hot path (shared.services.usage.ingest: fixed SQL on one driver
connection, no session, meters cached by code): what it must keep while being fast.
A cached meter archived later takes no more events; the cache never crosses tenants;
the same instant in another offset is the same event; bad input changes nothing; a keyed
batch commits with its Idempotency-Key; the response is what the model renders."""

from __future__ import annotations

import json

import asyncpg

from shared.db import usage_store
from shared.schemas.usage import UsageBatchResult
from tests.api.test_tenant_scoping import unscoped
from tests.client import Api

T0 = "2026-01-31T10:00:00Z"  # the fixture clock's now


def _event(id: str, customer: str, meter: str = "calls", timestamp: str = T0, **properties: object) -> dict:
    return {"id": id, "customer": customer, "meter": meter, "timestamp": timestamp, "properties": properties}


async def _batch(api: Api, *events: dict, **kwargs: object) -> list[tuple[str, str]]:
    reply = await api.post("/v1/usage_events/batch", {"events": list(events)}, **kwargs)
    assert reply.status == 200, reply
    return [(r["id"], r["status"]) for r in reply.body["results"]]


async def _stored(api: Api) -> int:
    conn = await asyncpg.connect(api.database_url)
    try:
        return await conn.fetchval("SELECT count(*) FROM usage_events")
    finally:
        await conn.close()


def test_every_ingestion_statement_filters_on_the_tenant() -> None:
    sent = usage_store.INGESTION
    assert [s for s in sent if unscoped(s)] == []
    assert all("tenant_id = $1" in s for s in sent)


async def test_a_meter_archived_after_it_was_cached_takes_no_more_events(api: Api) -> None:
    meter = (await api.post("/v1/meters", {"code": "calls", "name": "Calls", "aggregation": "count"})).body
    customer = await api.customer()
    assert await _batch(api, _event("e1", customer["id"])) == [("e1", "accepted")]  # the meter is cached now
    assert (await api.post(f"/v1/meters/{meter['id']}/archive")).status == 200
    reply = await api.post(
        "/v1/usage_events/batch", {"events": [_event("e2", customer["id"]), _event("e1", customer["id"])]}
    )
    assert [(r["id"], r["status"]) for r in reply.body["results"]] == [("e2", "rejected"), ("e1", "duplicate")]
    assert "archived" in reply.body["results"][0]["reason"]
    assert await _stored(api) == 1


async def test_the_meter_cache_never_crosses_tenants(api: Api) -> None:
    assert (await api.post("/v1/meters", {"code": "calls", "name": "Calls", "aggregation": "count"})).status == 201
    ada = await api.customer()
    assert await _batch(api, _event("a1", ada["id"])) == [("a1", "accepted")]
    other = await api.as_new_tenant()
    bob = await other.customer(email="bob@example.com")
    reply = await other.post("/v1/usage_events/batch", {"events": [_event("b1", bob["id"])]})
    assert reply.body["results"][0]["status"] == "rejected" and "unknown meter" in reply.body["results"][0]["reason"]
    assert (await other.post("/v1/meters", {"code": "calls", "name": "Calls", "aggregation": "count"})).status == 201
    assert await _batch(other, _event("b1", bob["id"]), _event("a1", bob["id"])) == [
        ("b1", "accepted"),
        ("a1", "accepted"),  # event ids are the tenant's own
    ]
    for tenant, customer in ((api, ada), (other, bob)):
        usage = (await tenant.get(f"/v1/customers/{customer['id']}/usage")).body["data"]
        assert [(m["meter"], m["events"]) for m in usage] == [("calls", 1 if tenant is api else 2)]


async def test_the_same_instant_in_another_offset_is_the_same_event(api: Api) -> None:
    assert (await api.post("/v1/meters", {"code": "calls", "name": "Calls", "aggregation": "count"})).status == 201
    customer = await api.customer()
    first = _event("e1", customer["id"], timestamp="2026-01-31T11:00:00+01:00", path="/a")
    assert await _batch(api, first) == [("e1", "accepted")]
    assert await _batch(api, _event("e1", customer["id"], timestamp=T0, path="/a")) == [("e1", "duplicate")]
    assert await _batch(api, _event("e1", customer["id"], timestamp=T0, path="/b")) == [("e1", "conflict")]
    single = await api.post(
        "/v1/usage_events", _event("e1", customer["id"], timestamp="2026-01-31T05:00:00-05:00", path="/a")
    )
    assert (single.status, single.body["status"]) == (201, "duplicate")


async def test_bad_batches_are_refused_whole_and_change_nothing(api: Api) -> None:
    assert (await api.post("/v1/meters", {"code": "calls", "name": "Calls", "aggregation": "count"})).status == 201
    customer = await api.customer()
    good = _event("ok", customer["id"])
    bad = {
        "naive timestamp": _event("x", customer["id"], timestamp="2026-01-31T10:00:00"),
        "NUL in a value": _event("x", customer["id"], path="a\x00b"),
        "NUL in a key": _event("x", customer["id"], **{"a\x00": 1}),
        "NUL in the id": _event("x\x00", customer["id"]),
        "an unknown field": {**_event("x", customer["id"]), "extra": 1},
        "a nested property": _event("x", customer["id"], nested={"a": 1}),
        "a number as the customer": {**_event("x", customer["id"]), "customer": 42},
    }
    for what, event in bad.items():
        reply = await api.post("/v1/usage_events/batch", {"events": [good, event]})
        assert reply.status == 422, (what, reply)
        assert reply.headers["Content-Type"].startswith("application/problem+json"), what
    assert await _stored(api) == 0
    assert await _batch(api, good) == [("ok", "accepted")]


async def test_a_keyed_batch_commits_with_its_key_and_replays_its_response(api: Api) -> None:
    assert (await api.post("/v1/meters", {"code": "calls", "name": "Calls", "aggregation": "count"})).status == 201
    customer = await api.customer()
    events = [_event("k1", customer["id"]), _event("k2", customer["id"])]
    key = {"Idempotency-Key": "batch-1"}
    assert await _batch(api, *events, headers=key) == [("k1", "accepted"), ("k2", "accepted")]
    assert await _batch(api, *events, headers=key) == [("k1", "accepted"), ("k2", "accepted")]  # the stored answer
    assert await _batch(api, *events) == [("k1", "duplicate"), ("k2", "duplicate")]
    assert await _stored(api) == 2


async def test_the_batch_answers_what_its_response_model_renders(api: Api) -> None:
    assert (await api.post("/v1/meters", {"code": "calls", "name": "Calls", "aggregation": "count"})).status == 201
    customer = await api.customer()
    body = {"events": [_event("r1", customer["id"]), _event("r2", "nobody"), _event("r1", customer["id"], path="/x")]}
    reply = await api.client.post(
        "/v1/usage_events/batch",
        data=json.dumps(body),
        headers={"Authorization": f"Bearer {api.key}", "Content-Type": "application/json"},
    )
    raw = await reply.read()
    assert raw == UsageBatchResult.model_validate_json(raw).model_dump_json().encode()
    assert json.loads(raw)["results"][1] == {"id": "r2", "status": "rejected", "reason": "unknown customer 'nobody'"}


async def test_repeats_of_a_stored_id_within_a_batch_are_compared_with_what_is_stored(api: Api) -> None:
    assert (await api.post("/v1/meters", {"code": "calls", "name": "Calls", "aggregation": "count"})).status == 201
    customer = await api.customer()
    assert await _batch(api, _event("e1", customer["id"], path="/a")) == [("e1", "accepted")]
    again = [_event("e1", customer["id"], path="/b"), _event("e1", customer["id"], path="/a")]
    assert await _batch(api, *again) == [("e1", "conflict"), ("e1", "duplicate")]
    fresh = [_event("e2", customer["id"], path="/b"), _event("e2", customer["id"], path="/a")]
    assert await _batch(api, *fresh) == [("e2", "accepted"), ("e2", "conflict")]


async def test_a_cloudevent_whose_id_cannot_be_stored_is_refused_not_a_server_error(api: Api) -> None:
    assert (await api.post("/v1/meters", {"code": "calls", "name": "Calls", "aggregation": "count"})).status == 201
    customer = await api.customer()
    conn = await asyncpg.connect(api.database_url)
    try:
        tenant = await conn.fetchval("SELECT id FROM tenants")
    finally:
        await conn.close()
    base = {"specversion": "1.0", "type": "usage", "source": "/gateway", "billingtenant": tenant}
    data = {"customer": customer["id"], "meter": "calls"}
    for what, attributes in {
        "a NUL in the id": {"id": "a\x00b"},
        "an id of 256 characters": {"id": "x" * 256},
        "a NUL in the tenant": {"id": "ok-1", "billingtenant": "ten\x00"},
    }.items():
        reply = await api.post(
            "/cloudevents/usage",
            raw=json.dumps({**base, **attributes, "data": data}).encode(),
            headers={"Content-Type": "application/cloudevents+json"},
        )
        assert reply.status == 422, (what, reply)
    assert await _stored(api) == 0
