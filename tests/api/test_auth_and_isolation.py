"""Every resource belongs to a tenant, and the tenant comes only from the API key."""

from tests.client import Api


async def test_missing_or_wrong_keys_are_401_with_a_bearer_challenge(api: Api) -> None:
    for key in (None, "", "sk_wrong", "Basic abc"):
        reply = await api.with_key(key).get("/v1/customers")
        assert reply.status == 401, key
        assert reply.headers["WWW-Authenticate"].startswith("Bearer")
        assert reply.headers["Content-Type"].startswith("application/problem+json")
    reply = await api.with_key(None).call("GET", "/v1/customers", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert reply.status == 401


async def test_unauthenticated_writes_write_nothing(api: Api) -> None:
    reply = await api.with_key("sk_nope").post("/v1/customers", {"email": "x@example.com", "name": "X"})
    assert reply.status == 401
    assert (await api.get("/v1/customers"))["data"] == []


async def test_another_tenants_objects_are_not_found_and_never_shown(api: Api) -> None:
    customer = await api.customer()
    plan = await api.plan()
    subscription = await api.subscribe(customer, plan)
    [invoice] = await api.invoices()
    other = await api.as_new_tenant()

    for path in (
        f"/v1/customers/{customer['id']}",
        f"/v1/plans/{plan['id']}",
        f"/v1/subscriptions/{subscription['id']}",
        f"/v1/invoices/{invoice['id']}",
    ):
        reply = await other.get(path)
        assert reply.status == 404, path
        assert customer["email"] not in str(reply.body)
    for path in ("/v1/customers", "/v1/plans", "/v1/subscriptions", "/v1/invoices"):
        assert (await other.get(path))["data"] == [], path

    assert (await other.post(f"/v1/invoices/{invoice['id']}/pay")).status == 404
    assert (await other.post(f"/v1/plans/{plan['id']}/archive")).status == 404
    assert (await other.patch(f"/v1/customers/{customer['id']}", {"name": "Mallory"})).status == 404
    # Subscribing another tenant's customer to one's own plan: the customer does not exist here.
    own_plan = await other.plan()
    reply = await other.post("/v1/subscriptions", {"customer_id": customer["id"], "plan_id": own_plan["id"]})
    assert reply.status == 404

    assert (await api.get(f"/v1/invoices/{invoice['id']}"))["status"] == "open"
    assert (await api.get(f"/v1/customers/{customer['id']}"))["name"] == customer["name"]
    assert (await api.get(f"/v1/plans/{plan['id']}"))["active"] is True


async def test_the_same_email_may_exist_in_two_tenants(api: Api) -> None:
    await api.customer(email="shared@example.com")
    other = await api.as_new_tenant()
    await other.customer(email="shared@example.com")
