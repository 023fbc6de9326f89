"""Invoices written on the request's raw connection still map constraint violations to a
409 problem (never a 500) and leave nothing behind."""

import pytest

from tests.client import Api


# With a key, the operation runs in a savepoint of the request's transaction (shared.db.uow).
@pytest.mark.parametrize("headers", [{}, {"Idempotency-Key": "resume-once"}])
async def test_resuming_into_an_already_invoiced_period_is_a_conflict(api: Api, headers: dict[str, str]) -> None:
    # On a frozen clock, pause and resume at the subscription's start: the resume's period
    # starts where the first invoice's did, and one cycle invoice per period is the rule.
    clock = await api.test_clock("2026-03-01T00:00:00Z")
    customer = await api.customer(test_clock=clock["id"])
    subscription = await api.subscribe(customer, await api.plan())
    assert (await api.post(f"/v1/subscriptions/{subscription['id']}/pause")).status == 200

    reply = await api.post(f"/v1/subscriptions/{subscription['id']}/resume", headers=headers)

    assert reply.status == 409, reply
    assert reply.headers["Content-Type"].startswith("application/problem+json")
    assert reply["detail"] == "this period has already been invoiced"
    assert (await api.subscription(subscription))["status"] == "paused"
    assert len(await api.invoices(subscription_id=subscription["id"])) == 1
    # The failed write gave its number back: the next invoice of the clock's sequence is 2.
    await api.advance(clock, "2026-03-02T00:00:00Z")
    resumed = await api.post(f"/v1/subscriptions/{subscription['id']}/resume")
    assert resumed.status == 200, resumed
    assert sorted(i["number"] for i in await api.invoices(subscription_id=subscription["id"])) == [1, 2]
