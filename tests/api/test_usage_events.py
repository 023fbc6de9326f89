"""Meters and usage events through the API: idempotent ingestion, per-event results,
rejection rules, usage reads."""

from __future__ import annotations

import asyncio
import json

from tests.client import Api

T0 = "2026-01-31T10:00:00Z"  # the fixture clock's now


async def _meter(api: Api, code: str = "api-calls", aggregation: str = "count", **extra) -> dict:
    reply = await api.post("/v1/meters", {"code": code, "name": code.title(), "aggregation": aggregation, **extra})
    assert reply.status == 201, reply
    return reply.body


def _event(id: str, customer: str, meter: str = "api-calls", timestamp: str = T0, **properties) -> dict:
    return {"id": id, "customer": customer, "meter": meter, "timestamp": timestamp, "properties": properties}


async def test_meters_are_created_listed_archived_and_codes_are_unique(api: Api) -> None:
    meter = await _meter(api, "gb", "sum", value_property="bytes", filters={"region": "eu"})
    assert meter["aggregation"] == "sum" and meter["filters"] == {"region": "eu"} and meter["active"]
    assert (await api.post("/v1/meters", {"code": "gb", "name": "x", "aggregation": "count"})).status == 409
    bad = await api.post("/v1/meters", {"code": "x", "name": "x", "aggregation": "sum"})
    assert bad.status == 422 and "value_property" in str(bad.body)
    assert (await api.get(f"/v1/meters/{meter['id']}")).body["code"] == "gb"
    assert [m["code"] for m in (await api.get("/v1/meters")).body["data"]] == ["gb"]
    archived = await api.post(f"/v1/meters/{meter['id']}/archive")
    assert archived.status == 200 and not archived.body["active"]


async def test_a_batch_answers_per_event_and_a_resend_is_a_duplicate(api: Api) -> None:
    await _meter(api)
    await _meter(api, "tokens", "sum", value_property="n")
    customer = await api.customer(external_id="crm-42")
    events = [
        _event("e1", customer["id"]),
        _event("e2", "crm-42"),  # by external id
        _event("e3", "nobody"),
        _event("e4", customer["id"], meter="nothing"),
        _event("e5", customer["id"], meter="tokens"),  # no property n
        _event("e6", customer["id"], meter="tokens", n="many"),
        _event("e7", customer["id"], timestamp="2026-01-31T10:05:01Z"),  # 301 s ahead
        _event("e8", customer["id"], meter="tokens", n="2.5"),
        _event("e1", customer["id"]),  # the same again within the batch
        _event("e2", customer["id"], timestamp="2026-01-30T00:00:00Z"),  # same id, other content
    ]
    reply = await api.post("/v1/usage_events/batch", {"events": events})
    assert reply.status == 200, reply
    statuses = [(r["id"], r["status"]) for r in reply.body["results"]]
    assert statuses == [
        ("e1", "accepted"),
        ("e2", "accepted"),
        ("e3", "rejected"),
        ("e4", "rejected"),
        ("e5", "rejected"),
        ("e6", "rejected"),
        ("e7", "rejected"),
        ("e8", "accepted"),
        ("e1", "duplicate"),
        ("e2", "conflict"),
    ]
    reasons = [r.get("reason") or "" for r in reply.body["results"]]
    assert "unknown customer" in reasons[2] and "unknown meter" in reasons[3]
    assert "missing property" in reasons[4] and "not a number" in reasons[5] and "future" in reasons[6]
    again = await api.post("/v1/usage_events/batch", {"events": events[:2]})
    assert [r["status"] for r in again.body["results"]] == ["duplicate", "duplicate"]
    usage = await api.get(f"/v1/customers/{customer['id']}/usage")
    assert usage.status == 200, usage
    quantities = {m["meter"]: (m["quantity"], m["events"]) for m in usage.body["data"]}
    assert quantities == {"api-calls": ("2", 2), "tokens": ("2.5", 1)}


async def test_single_event_endpoint(api: Api) -> None:
    await _meter(api)
    customer = await api.customer()
    first = await api.post("/v1/usage_events", _event("one", customer["id"]))
    assert first.status == 201 and first.body["status"] == "accepted"
    again = await api.post("/v1/usage_events", _event("one", customer["id"]))
    assert again.status == 201 and again.body["status"] == "duplicate"
    other = await api.post("/v1/usage_events", _event("one", customer["id"], path="/x"))
    assert other.status == 409
    rejected = await api.post("/v1/usage_events", _event("two", "nobody"))
    assert rejected.status == 422 and "unknown customer" in rejected.body["detail"]


async def test_twenty_concurrent_sends_of_one_event_store_it_once(api: Api) -> None:
    await _meter(api)
    customer = await api.customer()
    replies = await asyncio.gather(
        *(api.post("/v1/usage_events/batch", {"events": [_event("same", customer["id"])]}) for _ in range(20))
    )
    statuses = sorted(r.body["results"][0]["status"] for r in replies)
    assert statuses == ["accepted"] + ["duplicate"] * 19
    usage = await api.get(f"/v1/customers/{customer['id']}/usage")
    assert usage.body["data"][0]["events"] == 1


async def test_cloudevents_in_binary_and_structured_mode_with_ce_id_as_the_key(api: Api) -> None:
    import json

    import asyncpg

    await _meter(api)
    customer = await api.customer(external_id="crm-7")
    conn = await asyncpg.connect(api.database_url)
    try:
        tenant = await conn.fetchval("SELECT id FROM tenants")
    finally:
        await conn.close()
    binary = {
        "ce-specversion": "1.0",
        "ce-type": "com.example.usage",
        "ce-source": "/gateway",
        "ce-id": "ce-1",
        "ce-time": "2026-01-31T09:00:00Z",
        "ce-billingtenant": tenant,
    }
    data = {"customer": "crm-7", "meter": "api-calls", "properties": {"path": "/a"}}
    first = await api.post("/cloudevents/usage", data, headers=binary)
    assert first.status == 200 and first.body["status"] == "accepted", first
    again = await api.post("/cloudevents/usage", data, headers=binary)
    assert again.status == 200 and again.body["status"] == "duplicate"
    structured = {
        "specversion": "1.0",
        "type": "com.example.usage",
        "source": "/gateway",
        "id": "ce-2",
        "billingtenant": tenant,
        "datacontenttype": "application/json",
        "data": {"customer": customer["id"], "meter": "api-calls"},
    }
    reply = await api.post(
        "/cloudevents/usage",
        raw=json.dumps(structured).encode(),
        headers={"Content-Type": "application/cloudevents+json"},
    )
    assert reply.status == 200 and reply.body["status"] == "accepted", reply
    unknown = await api.post("/cloudevents/usage", {**data, "meter": "nope"}, headers={**binary, "ce-id": "ce-3"})
    assert unknown.status == 422 and "unknown meter" in unknown.body["detail"]
    no_tenant = {k: v for k, v in binary.items() if k != "ce-billingtenant"}
    assert (await api.post("/cloudevents/usage", data, headers={**no_tenant, "ce-id": "ce-4"})).status == 422
    other = await api.post("/cloudevents/usage", data, headers={**binary, "ce-id": "ce-5", "ce-billingtenant": "ten_x"})
    assert other.status == 422
    usage = await api.get(f"/v1/customers/{customer['id']}/usage", **{"from": "2026-01-01T00:00:00Z"})
    assert usage.body["data"][0]["events"] == 2


async def test_non_finite_numbers_in_properties_are_refused_not_a_server_error(api: Api) -> None:
    await _meter(api)
    customer = await api.customer()
    for number in ("NaN", "Infinity", "1e400"):
        event = {"id": "x", "customer": customer["id"], "meter": "api-calls", "timestamp": "2026-01-31T09:00:00Z"}
        raw = (json.dumps(event)[:-1] + f', "properties": {{"n": {number}}}}}').encode()
        reply = await api.post("/v1/usage_events", raw=raw)
        assert reply.status in (400, 422), reply
