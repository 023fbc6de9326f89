"""Renewal triggers: the PingSource CloudEvent, POST /v1/renewals, and catch-up after downtime."""

import json
from datetime import timedelta

from shared.clock import FrozenClock
from tests.client import Api
from tests.conftest import START

PING = {
    "ce-specversion": "1.0",
    "ce-type": "dev.knative.sources.ping",
    "ce-source": "/apis/v1/namespaces/billing/pingsources/renew",
    "ce-id": "ping-1",
    "Content-Type": "application/json",
}


async def ping(api: Api, *, time: str | None = None, structured: bool = False) -> dict:
    if structured:
        event = {
            "specversion": "1.0",
            "type": "dev.knative.sources.ping",
            "source": "/ping",
            "id": "ping-2",
            "data": {},
        }
        if time:
            event["time"] = time
        reply = await api.with_key(None).call(
            "POST",
            "/cloudevents/renew",
            raw=json.dumps(event).encode(),
            headers={"Content-Type": "application/cloudevents+json"},
        )
    else:
        headers = {**PING, **({"ce-time": time} if time else {})}
        reply = await api.with_key(None).call("POST", "/cloudevents/renew", raw=b"{}", headers=headers)
    assert reply.status == 200, reply
    return reply.body


async def test_a_ping_renews_every_tenant_as_of_now(api: Api, clock: FrozenClock) -> None:
    other = await api.as_new_tenant()
    mine = await api.subscribe(await api.customer(), await api.plan())
    theirs = await other.subscribe(await other.customer(), await other.plan())
    clock.set(START + timedelta(days=29))  # Mar 1, 10:00: both Feb 28 periods ended
    run = await ping(api)
    assert (run["renewed"], run["invoices_created"], run["object"]) == (2, 2, "renewal_run")
    assert len(await api.periods(mine)) == 2 and len(await other.periods(theirs)) == 2
    again = await ping(api, structured=True)  # a retried trigger changes nothing
    assert (again["renewed"], again["invoices_created"]) == (0, 0)


async def test_renewal_is_as_of_the_event_time_but_never_ahead_of_now(api: Api, clock: FrozenClock) -> None:
    subscription = await api.subscribe(await api.customer(), await api.plan())  # period ends Feb 28 10:00
    clock.set(START + timedelta(days=28, hours=12))  # Feb 28 22:00
    early = await ping(api, time="2026-02-28T09:59:59Z")
    assert early["invoices_created"] == 0 and early["as_of"] == "2026-02-28T09:59:59Z"
    future = await ping(api, time="2026-02-28T22:04:00Z")  # within the clock-skew allowance
    assert future["as_of"] == "2026-02-28T22:00:00Z"  # capped at the server's now
    assert len(await api.periods(subscription)) == 2


async def test_bad_cloudevents_are_400_and_change_nothing(api: Api, clock: FrozenClock) -> None:
    subscription = await api.subscribe(await api.customer(), await api.plan())
    clock.set(START + timedelta(days=40))
    anonymous = api.with_key(None)
    cases = [
        ({"Content-Type": "application/json"}, b"{}"),  # no ce- headers at all
        ({**PING, "ce-specversion": "9.9"}, b"{}"),
        ({k: v for k, v in PING.items() if k != "ce-id"}, b"{}"),
        ({**PING, "ce-time": "last tuesday"}, b"{}"),
        ({"Content-Type": "application/cloudevents+json"}, b"{not json"),
        ({"Content-Type": "application/cloudevents+json"}, b'{"specversion": "1.0"}'),
    ]
    for headers, body in cases:
        reply = await anonymous.call("POST", "/cloudevents/renew", raw=body, headers=headers)
        assert reply.status == 400, (headers, body, reply)
        assert reply.headers["Content-Type"].startswith("application/problem+json")
    assert len(await api.periods(subscription)) == 1


async def test_post_renewals_renews_only_the_callers_tenant(api: Api, clock: FrozenClock) -> None:
    other = await api.as_new_tenant()
    mine = await api.subscribe(await api.customer(), await api.plan())
    theirs = await other.subscribe(await other.customer(), await other.plan())
    clock.set(START + timedelta(days=29))
    run = await api.post("/v1/renewals")
    assert run.status == 200 and run["renewed"] == 1
    assert len(await api.periods(mine)) == 2 and len(await other.periods(theirs)) == 1
    assert (await api.with_key(None).post("/v1/renewals")).status == 401


async def test_catch_up_after_downtime_bills_every_missed_period_once(api: Api, clock: FrozenClock) -> None:
    await api.settings(grace_period_days=365)
    weekly = await api.subscribe(await api.customer(), await api.plan(code="weekly", interval="week", amount=500))
    monthly = await api.subscribe(await api.customer(email="m@example.com"), await api.plan(code="monthly"))
    clock.set(START + timedelta(days=100))  # 100 days without a single run
    run = await ping(api)
    assert run["invoices_created"] == 14 + 3
    for subscription, count in ((weekly, 15), (monthly, 4)):
        periods = await api.periods(subscription)
        assert len(periods) == count
        assert all(a[1] == b[0] for a, b in zip(periods, periods[1:]))
    numbers = sorted(i["number"] for i in await api.invoices())
    assert numbers == list(range(1, 20))
    assert (await ping(api))["invoices_created"] == 0
