"""Idempotency keys: a client may retry any POST safely; it never acts twice."""
import asyncio

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
    other_path = await api.post("/v1/plans", {"code": "p", "name": "P", "amount": 1, "currency": "USD", "interval": "day"},
                                headers=keyed("k1"))
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
