"""The HTTP contract every function honours: problem+json errors, limits, health and docs."""

import json

from openapi_spec_validator import validate

from shared.runtime.registry import all_operations
from tests.client import Api


async def test_malformed_json_is_400(api: Api) -> None:
    for raw in (b"{bad", b'{"email": "a@example.com",}', b"\xff\xfe"):
        reply = await api.post("/v1/customers", raw=raw)
        assert reply.status == 400, raw
        assert reply["type"].endswith("malformed-request")
    assert (await api.get("/v1/customers"))["data"] == []


async def test_bodies_over_64_kib_are_413_and_write_nothing(api: Api) -> None:
    big = json.dumps({"email": "big@example.com", "name": "x" * (64 * 1024)}).encode()
    reply = await api.post("/v1/customers", raw=big)
    assert reply.status == 413
    assert reply.headers["Content-Type"].startswith("application/problem+json")
    assert (await api.get("/v1/customers"))["data"] == []


async def test_non_json_content_type_is_415(api: Api) -> None:
    reply = await api.post(
        "/v1/customers", raw=b"email=a@example.com", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert reply.status == 415


async def test_unknown_routes_and_methods_are_problems(api: Api) -> None:
    missing = await api.get("/v1/unicorns")
    assert missing.status == 404 and missing["title"] == "Not found"
    wrong = await api.call("DELETE", "/v1/customers")
    assert wrong.status == 405 and "POST" in wrong.headers.get("Allow", "")


async def test_unknown_query_parameters_are_422(api: Api) -> None:
    reply = await api.get("/v1/customers", colour="blue")
    assert reply.status == 422 and reply["errors"][0]["field"] == "colour"


async def test_health_needs_no_key_and_ready_checks_the_database(api: Api) -> None:
    anonymous = api.with_key(None)
    assert (await anonymous.get("/health")).body == {"status": "ok"}
    assert (await anonymous.get("/ready")).body == {"status": "ready"}


async def test_request_ids_are_echoed_or_generated(api: Api) -> None:
    echoed = await api.call("GET", "/health", headers={"X-Request-Id": "req-123"})
    assert echoed.headers["X-Request-Id"] == "req-123"
    generated = await api.get("/health")
    assert len(generated.headers["X-Request-Id"]) == 32


async def test_openapi_is_valid_3_1_and_lists_every_operation(api: Api) -> None:
    document = (await api.with_key(None).get("/openapi.json")).body
    validate(document)
    assert document["openapi"] == "3.1.0"
    declared = {(op.method.lower(), op.path) for op in all_operations()}
    published = {(method, path) for path, methods in document["paths"].items() for method in methods}
    assert published == declared
    plan_schema = document["components"]["schemas"]["PlanCreate"]
    assert plan_schema["additionalProperties"] is False
    assert set(plan_schema["required"]) == {"code", "name", "amount", "currency", "interval"}


async def test_swagger_ui_is_served_locally(api: Api) -> None:
    page = await api.with_key(None).get("/docs")
    assert page.status == 200 and "/openapi.json" in page.body and "/docs/static/swagger-ui-bundle.js" in page.body
    async with api.client.get("/docs/static/swagger-ui-bundle.js") as asset:
        assert asset.status == 200
        assert len(await asset.read()) > 100_000
