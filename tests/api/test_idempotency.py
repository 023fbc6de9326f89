"""Idempotency keys: a client may retry any POST safely; it never acts twice."""

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from shared.clock import FrozenClock
from shared.services import idempotency_keys as idempotency_service
from tests.client import Api


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


async def test_a_retried_subscription_is_created_and_invoiced_once(api: Api) -> None:
    customer, plan = await api.customer(), await api.plan()
    body = {"customer_id": customer["id"], "plan_id": plan["id"]}
    first = await api.post("/v1/subscriptions", body, headers=keyed("sub-attempt-1"))
    retry = await api.post("/v1/subscriptions", body, headers=keyed("sub-attempt-1"))
    assert first.status == retry.status == 201
    assert retry.body == first.body
    assert retry.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert len((await api.get("/v1/subscriptions"))["data"]) == 1
    assert len(await api.invoices()) == 1


async def test_the_same_key_with_another_body_is_refused_and_changes_nothing(api: Api) -> None:
    await api.post("/v1/customers", {"email": "a@example.com", "name": "A"}, headers=keyed("k1"))
    reply = await api.post("/v1/customers", {"email": "b@example.com", "name": "B"}, headers=keyed("k1"))
    assert reply.status == 422 and reply["errors"][0]["field"] == "Idempotency-Key"
    other_path = await api.post(
        "/v1/plans", {"code": "p", "name": "P", "amount": 1, "currency": "USD", "interval": "day"}, headers=keyed("k1")
    )
    assert other_path.status == 422
    assert [c["email"] for c in (await api.get("/v1/customers"))["data"]] == ["a@example.com"]


async def test_a_business_refusal_is_replayed_too(api: Api) -> None:
    await api.subscribe(await api.customer(), await api.plan())
    [invoice] = await api.invoices()
    assert (await api.post(f"/v1/invoices/{invoice['id']}/pay", headers=keyed("pay-1"))).status == 200
    replay = await api.post(f"/v1/invoices/{invoice['id']}/pay", headers=keyed("pay-1"))
    assert replay.status == 200 and replay.headers["Idempotent-Replayed"] == "true"  # not a 409 "already paid"
    conflict = await api.post(f"/v1/invoices/{invoice['id']}/pay", headers=keyed("pay-2"))
    assert conflict.status == 409
    again = await api.post(f"/v1/invoices/{invoice['id']}/pay", headers=keyed("pay-2"))
    assert again.status == 409 and again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Content-Type"].startswith("application/problem+json")


async def test_invalid_requests_claim_no_key(api: Api) -> None:
    bad = await api.post("/v1/customers", {"email": "nope", "name": "X"}, headers=keyed("k2"))
    assert bad.status == 422
    good = await api.post("/v1/customers", {"email": "ok@example.com", "name": "X"}, headers=keyed("k2"))
    assert good.status == 201 and "Idempotent-Replayed" not in good.headers


async def test_keys_belong_to_their_tenant_and_must_be_sane(api: Api) -> None:
    other = await api.as_new_tenant()
    body = {"email": "same@example.com", "name": "Same"}
    mine = await api.post("/v1/customers", body, headers=keyed("shared-key"))
    theirs = await other.post("/v1/customers", body, headers=keyed("shared-key"))
    assert mine.status == theirs.status == 201 and mine["id"] != theirs["id"]
    assert "Idempotent-Replayed" not in theirs.headers
    too_long = await api.post("/v1/customers", {"email": "x@example.com", "name": "X"}, headers=keyed("k" * 256))
    assert too_long.status == 422
    assert len((await api.get("/v1/customers"))["data"]) == 1


async def test_concurrent_duplicates_act_once(api: Api) -> None:
    body = {"email": "race@example.com", "name": "Race"}
    replies = await asyncio.gather(*(api.post("/v1/customers", body, headers=keyed("race")) for _ in range(10)))
    assert {r.status for r in replies} <= {201, 409}
    created = {r["id"] for r in replies if r.status == 201}
    assert len(created) == 1
    assert len((await api.get("/v1/customers"))["data"]) == 1


# The database dies under a keyed request: a trigger makes the request's own backend
# terminate itself (a real lost connection, at a chosen statement), then goes away.
_DIE = """
CREATE FUNCTION die() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NEW; END $$;
"""


async def _sql(api: Api, *statements: str) -> None:
    conn = await asyncpg.connect(api.database_url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def _count(api: Api, table: str) -> int:
    conn = await asyncpg.connect(api.database_url)
    try:
        return await conn.fetchval(f"SELECT count(*) FROM {table}")
    finally:
        await conn.close()


async def test_an_outage_while_storing_the_response_commits_nothing_and_the_retry_runs(api: Api) -> None:
    customer, plan = await api.customer(), await api.plan()
    body = {"customer_id": customer["id"], "plan_id": plan["id"]}
    await _sql(
        api,
        _DIE,
        "CREATE TRIGGER die BEFORE UPDATE ON idempotency_keys FOR EACH ROW "
        "WHEN (NEW.state = 'done') EXECUTE FUNCTION die()",
    )
    lost = await api.post("/v1/subscriptions", body, headers=keyed("outage-1"))
    assert lost.status >= 500 and "Idempotent-Replayed" not in lost.headers
    # The work and its key are one transaction: neither is there.
    assert (
        await _count(api, "subscriptions"),
        await _count(api, "invoices"),
        await _count(api, "idempotency_keys"),
    ) == (0, 0, 0)
    await _sql(api, "DROP TRIGGER die ON idempotency_keys")
    retry = await api.post("/v1/subscriptions", body, headers=keyed("outage-1"))
    assert retry.status == 201 and "Idempotent-Replayed" not in retry.headers
    assert (await _count(api, "subscriptions"), await _count(api, "invoices")) == (1, 1)


async def test_a_commit_whose_outcome_is_unknown_is_503_and_the_retry_settles_it(api: Api) -> None:
    customer, plan = await api.customer(), await api.plan()
    body = {"customer_id": customer["id"], "plan_id": plan["id"]}
    # A deferred trigger runs inside COMMIT: the connection is lost during the commit itself.
    await _sql(
        api,
        _DIE,
        "CREATE CONSTRAINT TRIGGER die AFTER INSERT OR UPDATE ON idempotency_keys "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION die()",
    )
    lost = await api.post("/v1/subscriptions", body, headers=keyed("outage-2"))
    assert lost.status == 503, lost
    assert lost.headers["Content-Type"].startswith("application/problem+json")
    assert "Idempotency-Key" in lost["detail"]
    await _sql(api, "DROP TRIGGER die ON idempotency_keys")
    retry = await api.post("/v1/subscriptions", body, headers=keyed("outage-2"))
    assert retry.status == 201 and "Idempotent-Replayed" not in retry.headers  # nothing had committed
    assert (await _count(api, "subscriptions"), await _count(api, "invoices")) == (1, 1)


async def test_a_duplicate_waits_for_the_first_attempt_then_runs_if_it_rolled_back(api: Api) -> None:
    body = {"email": "wait@example.com", "name": "Wait"}
    holder = await asyncpg.connect(api.database_url)
    try:
        tenant = await holder.fetchval("SELECT tenant_id FROM api_keys ORDER BY created_at LIMIT 1")
        transaction = holder.transaction()
        await transaction.start()
        # An attempt in flight: its key row is written but not committed.
        await holder.execute(
            "INSERT INTO idempotency_keys (tenant_id, key, fingerprint, state, created_at) "
            "VALUES ($1, 'waiting', 'x', 'in_progress', now())",
            tenant,
        )
        duplicate = asyncio.create_task(api.post("/v1/customers", body, headers=keyed("waiting")))
        for _ in range(600):  # until the duplicate is blocked on the key row (bounded: 60 s)
            if await _waiting_on_locks(api) or duplicate.done():
                break
            await asyncio.sleep(0.1)
        assert not duplicate.done()
        await transaction.rollback()  # the first attempt died without effect
        reply = await asyncio.wait_for(duplicate, 60)
    finally:
        await holder.close()
    assert reply.status == 201 and "Idempotent-Replayed" not in reply.headers
    assert await _count(api, "customers") == 1


async def _waiting_on_locks(api: Api) -> bool:
    conn = await asyncpg.connect(api.database_url)
    try:
        return bool(
            await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    finally:
        await conn.close()


async def test_a_duplicate_of_an_attempt_still_running_is_409_after_a_bounded_wait(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(idempotency_service, "CLAIM_WAIT", timedelta(milliseconds=200))
    holder = await asyncpg.connect(api.database_url)
    try:
        tenant = await holder.fetchval("SELECT tenant_id FROM api_keys ORDER BY created_at LIMIT 1")
        async with holder.transaction():
            await holder.execute(
                "INSERT INTO idempotency_keys (tenant_id, key, fingerprint, state, created_at) "
                "VALUES ($1, 'busy', 'x', 'in_progress', now())",
                tenant,
            )
            reply = await asyncio.wait_for(
                api.post("/v1/customers", {"email": "busy@example.com", "name": "Busy"}, headers=keyed("busy")), 60
            )
            assert reply.status == 409 and reply["errors"][0]["field"] == "Idempotency-Key"
            assert "in progress" in reply["detail"]
            raise _Rollback
    except _Rollback:
        pass
    finally:
        await holder.close()
    assert await _count(api, "customers") == 0


class _Rollback(Exception):
    pass


async def test_a_refusal_by_a_unique_constraint_is_stored_and_replayed(api: Api) -> None:
    await api.customer(email="taken@example.com")
    body = {"email": "taken@example.com", "name": "Again"}
    first = await api.post("/v1/customers", body, headers=keyed("dup-email"))
    assert first.status == 409 and first["errors"][0]["field"] == "email"
    again = await api.post("/v1/customers", body, headers=keyed("dup-email"))
    assert again.status == 409 and again.headers["Idempotent-Replayed"] == "true" and again.body == first.body
    assert await _count(api, "customers") == 1


async def test_renewals_and_clock_advances_replay_their_first_response(api: Api, clock: FrozenClock) -> None:
    await api.subscribe(await api.customer(), await api.plan())
    clock.set(datetime(2026, 3, 5, tzinfo=UTC))
    first = await api.post("/v1/renewals", headers=keyed("renew-1"))
    assert first.status == 200 and first["invoices_created"] == 1
    retry = await api.post("/v1/renewals", headers=keyed("renew-1"))
    assert retry.status == 200 and retry.body == first.body and retry.headers["Idempotent-Replayed"] == "true"
    assert len(await api.invoices()) == 2

    test_clock = await api.test_clock("2026-01-01T00:00:00Z")
    customer = await api.customer(email="clocked@example.com", test_clock=test_clock["id"])
    await api.subscribe(customer, await api.plan(code="clocked"))
    advance = {"frozen_time": "2026-03-15T00:00:00Z"}
    moved = await api.post(f"/v1/test_clocks/{test_clock['id']}/advance", advance, headers=keyed("advance-1"))
    assert moved.status == 200
    replay = await api.post(f"/v1/test_clocks/{test_clock['id']}/advance", advance, headers=keyed("advance-1"))
    assert replay.status == 200 and replay.body == moved.body and replay.headers["Idempotent-Replayed"] == "true"
    await api.wait_ready(test_clock)  # the advance's renewal runs in the background
    assert len(await api.invoices(customer_id=customer["id"])) == 3


async def test_a_keyed_request_chosen_as_a_deadlock_victim_runs_again(api: Api) -> None:
    """The key row share-locks its tenant first; a renewal-like writer holding the
    subscription and then wanting the tenant deadlocks with it. The request is made the
    victim (its deadlock check runs long before the holder's), and must simply run again."""
    subscription = await api.subscribe(await api.customer(), await api.plan())
    database = api.database_url.rsplit("/", 1)[1].split("?")[0]
    # New connections (the app's pool reconnects after the terminate) check for deadlocks
    # after 20 s: ample time for the holder below to close the cycle first.
    await _sql(
        api,
        f"ALTER DATABASE \"{database}\" SET deadlock_timeout = '20s'",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    holder = await asyncpg.connect(api.database_url)
    try:
        await holder.execute("SET deadlock_timeout = '10min'")  # never the one to give up
        tenant = await holder.fetchval("SELECT tenant_id FROM subscriptions WHERE id = $1", subscription["id"])
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute("SELECT 1 FROM subscriptions WHERE id = $1 FOR UPDATE", subscription["id"])
        cancel = asyncio.create_task(
            api.post(
                f"/v1/subscriptions/{subscription['id']}/cancel", {"at_period_end": False}, headers=keyed("victim")
            )
        )
        for _ in range(600):  # until the request waits for the subscription (bounded: 60 s)
            if await _waiting_on_locks(api) or cancel.done():
                break
            await asyncio.sleep(0.1)
        assert not cancel.done(), cancel.result()
        # The holder now wants the tenant row the request's key row share-locked: a cycle.
        await asyncio.wait_for(holder.execute("SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE", tenant), 120)
        await transaction.rollback()
        reply = await asyncio.wait_for(cancel, 120)
    finally:
        await holder.close()
    assert reply.status == 200 and reply["status"] == "canceled" and "Idempotent-Replayed" not in reply.headers
    again = await api.post(
        f"/v1/subscriptions/{subscription['id']}/cancel", {"at_period_end": False}, headers=keyed("victim")
    )
    assert again.status == 200 and again.headers["Idempotent-Replayed"] == "true"
