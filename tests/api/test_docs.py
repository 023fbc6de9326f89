"""The API as a newcomer reads it: the root leads to the docs, every request body carries a
realistic example that Swagger's "Try it out" sends unedited, operations come in the order of
the README walk-through. (The browser itself is driven in tests/browser.)"""

from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft202012Validator

from shared.runtime.openapi import TAGS
from shared.runtime.registry import all_operations
from shared.schemas.common import EXAMPLE_CUSTOMER_ID, EXAMPLE_PLAN_ID
from tests.client import Api

WALKTHROUGH = [
    "customers",
    "meters",
    "plans",
    "subscriptions",
    "usage",
    "invoices",
    "test-clocks",
    "renewals",
    "usage-ingest",
    "api-keys",
    "settings",
    "webhooks",
    "events",
    "coupons",
    "tax-rates",
    "credit-notes",
]


async def document(api: Api) -> dict[str, Any]:
    reply = await api.with_key(None).get("/openapi.json")
    assert reply.status == 200
    return reply.body


def example_of(doc: dict[str, Any], method: str, path: str) -> Any:
    return doc["paths"][path][method]["requestBody"]["content"]["application/json"]["example"]


def schema_errors(doc: dict[str, Any], path: str, method: str, value: Any) -> list[str]:
    """Errors of `value` against the operation's body schema, its $refs resolved in the document."""
    ref = doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    validator = Draft202012Validator({**doc, "$ref": ref})
    return [error.message for error in validator.iter_errors(value)]


async def test_the_root_and_docs_with_a_slash_redirect_to_the_docs(api: Api) -> None:
    for path in ("/", "/docs/"):
        async with api.client.get(path, allow_redirects=False) as reply:
            assert reply.status in (302, 308), path
            assert reply.headers["Location"] == "/docs"
            assert reply.headers["X-Request-Id"]  # a normal response: logged and traced
        async with api.client.get(path) as followed:
            assert followed.status == 200 and "swagger-ui" in await followed.text()
    async with api.client.get("/docs", allow_redirects=False) as docs:
        assert docs.status == 200 and docs.content_type == "text/html"
    async with api.client.get("/docs/static/favicon-32x32.png") as icon:  # the page's icon: no 404 in a browser
        assert icon.status == 200


async def test_every_request_body_has_an_example_that_its_schema_accepts(api: Api) -> None:
    doc = await document(api)
    bodies = [(op, op.path, op.method.lower()) for op in all_operations() if op.body is not None]
    assert len(bodies) >= 10
    for op, path, method in bodies:
        component = doc["components"]["schemas"][op.body.__name__]
        assert component.get("examples"), f"{op.name}: the {op.body.__name__} schema has no example"
        example = example_of(doc, method, path)
        assert example == component["examples"][0], op.name
        assert list(example) == [name for name in component["properties"] if name in example], op.name
        assert schema_errors(doc, path, method, example) == [], op.name
        op.body.model_validate_json(json.dumps(example))  # and the server's own parser agrees


async def test_unedited_create_examples_succeed(api: Api) -> None:
    doc = await document(api)
    customer = await api.post("/v1/customers", example_of(doc, "post", "/v1/customers"))
    assert customer.status == 201, customer.body
    plan = await api.post("/v1/plans", example_of(doc, "post", "/v1/plans"))
    assert plan.status == 201, plan.body
    # A realistic plan, not the maximum amount every day.
    assert (plan["amount"], plan["currency"], plan["interval"]) == (2900, "USD", "month")
    for path in ("/v1/test_clocks", "/v1/api_keys"):
        created = await api.post(path, example_of(doc, "post", path))
        assert created.status == 201, (path, created.body)
    settings = await api.patch("/v1/settings", example_of(doc, "patch", "/v1/settings"))
    assert settings.status == 200, settings.body

    # The subscription example names ids that must exist: the placeholders say which...
    subscription = example_of(doc, "post", "/v1/subscriptions")
    assert subscription == {"customer_id": EXAMPLE_CUSTOMER_ID, "plan_id": EXAMPLE_PLAN_ID}
    missing = await api.post("/v1/subscriptions", subscription)
    assert missing.status == 404 and missing.headers["Content-Type"].startswith("application/problem+json")
    # ...and with the ids just created the same example succeeds.
    real = {**subscription, "customer_id": customer["id"], "plan_id": plan["id"]}
    assert (await api.post("/v1/subscriptions", real)).status == 201


async def test_operations_are_grouped_in_walkthrough_order(api: Api) -> None:
    doc = await document(api)
    assert [tag["name"] for tag in doc["tags"]] == WALKTHROUGH
    assert [name for name, _ in TAGS] == WALKTHROUGH
    assert all(tag.get("description") for tag in doc["tags"])
    order = [spec["tags"] for methods in doc["paths"].values() for spec in methods.values()]
    assert all(len(tags) == 1 and tags[0] in WALKTHROUGH for tags in order)
    positions = [WALKTHROUGH.index(tags[0]) for tags in order]
    assert positions == sorted(positions), "Swagger UI shows families in the document's order"
    for op in all_operations():
        assert doc["paths"][op.path][op.method.lower()]["tags"] == [op.family], op.name
    # Within a family: create first, then list, then retrieve.
    customers = [
        (method, path)
        for path, methods in doc["paths"].items()
        for method, spec in methods.items()
        if spec["tags"] == ["customers"]
    ]
    assert customers[:3] == [("post", "/v1/customers"), ("get", "/v1/customers"), ("get", "/v1/customers/{id}")]


async def test_not_found_says_which_ids_can_miss(api: Api) -> None:
    doc = await document(api)
    responses = {
        (method, path): spec["responses"] for path, methods in doc["paths"].items() for method, spec in methods.items()
    }
    assert "customer_id, plan_id" in responses[("post", "/v1/subscriptions")]["404"]["description"]
    assert "starting_after" in responses[("get", "/v1/customers")]["404"]["description"]
    assert "path id" in responses[("get", "/v1/customers/{id}")]["404"]["description"]
    # A plan's or the settings' default_tax_rates may name an unknown tax rate.
    assert "default_tax_rates" in responses[("post", "/v1/plans")]["404"]["description"]
    assert "default_tax_rates" in responses[("patch", "/v1/settings")]["404"]["description"]
    for unreachable in (
        ("post", "/v1/tax_rates"),
        ("get", "/v1/settings"),
        ("post", "/v1/renewals"),
        ("post", "/v1/test_clocks"),
    ):
        assert "404" not in responses[unreachable], unreachable
    # Every documented 404 is real: an unknown id of the right form is refused as 404.
    gone = "cus_0000000000000000000000000"
    assert (await api.get(f"/v1/customers/{gone}")).status == 404
    assert (await api.get("/v1/customers", starting_after=gone)).status == 404


async def test_create_api_key_does_not_offer_the_idempotency_key_it_refuses(api: Api) -> None:
    """Found by schemathesis once the examples made its requests valid: the header was documented
    on create-api-key, whose handler refuses it (a replay would need the secret stored)."""
    doc = await document(api)
    spec = doc["paths"]["/v1/api_keys"]["post"]
    assert "Idempotency-Key" not in [p["name"] for p in spec["parameters"]]
    assert "409" not in spec["responses"] and "Idempotency-Key" in spec["description"]
    refused = await api.post(
        "/v1/api_keys", example_of(doc, "post", "/v1/api_keys"), headers={"Idempotency-Key": "retry-1"}
    )
    assert refused.status == 422  # as now documented: the runtime's rule, unchanged
    customers = doc["paths"]["/v1/customers"]["post"]
    assert "Idempotency-Key" in [p["name"] for p in customers["parameters"]] and "409" in customers["responses"]
