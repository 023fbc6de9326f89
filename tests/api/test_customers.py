"""Customers through the HTTP API: create, read, list with cursors, update, and every error class."""

from tests.client import Api


async def test_create_then_retrieve_a_customer(api: Api) -> None:
    created = await api.customer(email="Grace@Example.COM", name="  Grace Hopper ", metadata={"crm": "42"})
    assert created["object"] == "customer"
    assert created["id"].startswith("cus_")
    assert created["email"] == "grace@example.com"  # normalised: unique regardless of case
    assert created["name"] == "Grace Hopper"
    assert created["metadata"] == {"crm": "42"}
    assert created["created_at"].endswith("Z")

    fetched = await api.get(f"/v1/customers/{created['id']}")
    assert fetched.status == 200
    assert fetched.body == created


async def test_list_pages_newest_first_with_a_cursor(api: Api) -> None:
    ids = [(await api.customer(email=f"c{i}@example.com"))["id"] for i in range(5)]
    first = await api.get("/v1/customers", limit=2)
    assert first.status == 200
    assert [c["id"] for c in first["data"]] == ids[::-1][:2]
    assert first["has_more"] is True and first["object"] == "list"
    rest = await api.get("/v1/customers", limit=10, starting_after=first["data"][-1]["id"])
    assert [c["id"] for c in rest["data"]] == ids[::-1][2:]
    assert rest["has_more"] is False


async def test_update_changes_only_given_fields_and_merges_metadata(api: Api) -> None:
    customer = await api.customer(metadata={"a": "1", "b": "2"})
    reply = await api.patch(f"/v1/customers/{customer['id']}", {"name": "Ada King", "metadata": {"b": "", "c": "3"}})
    assert reply.status == 200
    assert reply["name"] == "Ada King"
    assert reply["email"] == customer["email"]
    assert reply["metadata"] == {"a": "1", "c": "3"}


async def test_duplicate_email_is_a_conflict_whatever_the_case(api: Api) -> None:
    await api.customer(email="ada@example.com")
    reply = await api.post("/v1/customers", {"email": "ADA@example.com", "name": "Other"})
    assert reply.status == 409
    assert reply.headers["Content-Type"].startswith("application/problem+json")
    assert reply["errors"][0]["field"] == "email"
    assert len((await api.get("/v1/customers"))["data"]) == 1


async def test_changing_email_to_a_taken_one_is_a_conflict_and_changes_nothing(api: Api) -> None:
    await api.customer(email="a@example.com")
    b = await api.customer(email="b@example.com", name="B")
    reply = await api.patch(f"/v1/customers/{b['id']}", {"email": "a@example.com", "name": "Renamed"})
    assert reply.status == 409
    after = await api.get(f"/v1/customers/{b['id']}")
    assert (after["email"], after["name"]) == ("b@example.com", "B")


async def test_invalid_bodies_are_422_with_the_offending_fields(api: Api) -> None:
    cases = [
        ({"email": "not-an-email", "name": "X"}, "email"),
        ({"email": "x@example.com", "name": 123}, "name"),
        ({"email": "x@example.com", "name": "X", "nickname": "x"}, "nickname"),
        ({"email": "x@example.com"}, "name"),
        ({"email": "x@example.com", "name": "   "}, "name"),
        ({"email": "x@example.com", "name": "X", "metadata": {"k": 1}}, "metadata.k"),
        ({"email": "x@example.com", "name": "X", "metadata": {f"k{i}": "v" for i in range(51)}}, "metadata"),
    ]
    for body, field in cases:
        reply = await api.post("/v1/customers", body)
        assert reply.status == 422, (body, reply)
        assert reply["type"].endswith("validation-error")
        assert field in [error["field"] for error in reply["errors"]], (body, reply)
    assert (await api.get("/v1/customers"))["data"] == []


async def test_a_json_array_or_scalar_body_is_422(api: Api) -> None:
    for raw in (b"[]", b"42", b'"x"', b"null"):
        reply = await api.post("/v1/customers", raw=raw)
        assert reply.status == 422, raw


async def test_unknown_customer_is_404(api: Api) -> None:
    for path in ("/v1/customers/cus_doesnotexist", "/v1/customers/%00weird"):
        reply = await api.get(path)
        assert reply.status == 404
        assert reply["status"] == 404
