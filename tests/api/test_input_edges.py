"""Input edges: duplicate JSON keys, ids with trailing newlines, foreign cursors, due dates."""

from shared.runtime.http import looks_like_id
from tests.client import Api


async def test_duplicate_json_keys_are_400_and_create_nothing(api: Api) -> None:
    raw = b'{"email": "a@example.com", "name": "A", "email": "b@example.com"}'
    reply = await api.post("/v1/customers", raw=raw)
    assert reply.status == 400, reply
    assert reply["type"].endswith("malformed-request") and "email" in reply["detail"]
    nested = b'{"email": "a@example.com", "name": "A", "metadata": {"k": "1", "k": "2"}}'
    assert (await api.post("/v1/customers", raw=nested)).status == 400
    assert (await api.get("/v1/customers"))["data"] == []


async def test_path_ids_with_a_trailing_newline_are_not_ids(api: Api) -> None:
    customer = await api.customer()
    reply = await api.get(f"/v1/customers/{customer['id']}%0A")
    assert reply.status == 404 and reply.headers["Content-Type"].startswith("application/problem+json")
    # Refused by the id check itself, before any database lookup.
    assert reply["detail"].startswith("no such object:"), reply
    assert not looks_like_id(customer["id"] + "\n") and looks_like_id(customer["id"])


async def test_unknown_or_foreign_cursors_are_404_on_field_starting_after(api: Api) -> None:
    other = await api.as_new_tenant()
    theirs = await other.customer()
    mine = await api.customer()
    plan = await api.plan()
    subscription = await api.subscribe(mine, plan)
    [invoice] = await api.invoices()
    lists = {
        "/v1/customers": mine["id"],
        "/v1/plans": plan["id"],
        "/v1/subscriptions": subscription["id"],
        "/v1/invoices": invoice["id"],
    }
    for path, own_id in lists.items():
        ok = await api.get(path, starting_after=own_id)
        assert ok.status == 200 and ok["data"] == [], (path, ok)
        for cursor in (theirs["id"], "cus_0000000000unknown", f"{own_id[:-1]}z"):
            reply = await api.get(path, starting_after=cursor)
            assert reply.status == 404, (path, cursor, reply)
            assert reply["errors"][0]["field"] == "starting_after", reply
    # A cursor of another kind (a plan id on the customer list) is not a customer either.
    assert (await api.get("/v1/customers", starting_after=plan["id"])).status == 404


async def test_new_invoices_are_due_in_30_days_by_default(api: Api) -> None:
    assert (await api.get("/v1/settings"))["days_until_due"] == 30
    subscription = await api.subscribe(await api.customer(), await api.plan())
    [invoice] = await api.invoices(subscription_id=subscription["id"])
    assert invoice["due_at"] == "2026-03-02T10:00:00Z"
    assert (await api.subscription(subscription))["status"] == "active"


async def test_integral_json_numbers_are_integers_as_json_schema_says(api: Api) -> None:
    assert (await api.settings(grace_period_days=39.0))["grace_period_days"] == 39
    plan = await api.post(
        "/v1/plans",
        raw=b'{"code": "p", "name": "P", "amount": 1999.0, "currency": "USD", '
        b'"interval": "month", "interval_count": 1.0}',
    )
    assert plan.status == 201 and (plan["amount"], plan["interval_count"]) == (1999, 1)
    for amount in (b"19.99", b"1e300", b"9007199254740993.0", b"true", b'"1999"'):
        raw = b'{"code": "q", "name": "Q", "currency": "USD", "interval": "month", "amount": ' + amount + b"}"
        reply = await api.post("/v1/plans", raw=raw)
        assert reply.status == 422 and reply["errors"][0]["field"] == "amount", (amount, reply)


async def test_idempotency_keys_are_the_documented_visible_ascii(api: Api) -> None:
    body = {"email": "k@example.com", "name": "K"}
    for key in ("caf\u00e9", "x" * 256):
        reply = await api.post("/v1/customers", body, headers={"Idempotency-Key": key})
        assert reply.status == 422 and reply["errors"][0]["field"] == "Idempotency-Key", (key, reply)
    assert (await api.get("/v1/customers"))["data"] == []
    assert (await api.post("/v1/customers", body, headers={"Idempotency-Key": "order 42/retry~1"})).status == 201


async def test_a_body_of_whitespace_is_not_json_and_changes_nothing(api: Api) -> None:
    """No body is the empty object; whitespace alone is not JSON (schemathesis found PATCH
    /v1/tax_rates/{id} answering 200 to a body of one newline)."""
    customer = await api.customer()
    before = (await api.get(f"/v1/customers/{customer['id']}")).body
    for raw in (b"\n", b"  \r\n\t"):
        reply = await api.patch(f"/v1/customers/{customer['id']}", raw=raw)
        assert reply.status in (400, 422) and reply.headers["Content-Type"].startswith("application/problem+json")
    assert (await api.get(f"/v1/customers/{customer['id']}")).body == before
    assert (await api.patch(f"/v1/customers/{customer['id']}", raw=b"")).status == 200  # no body: nothing to change
