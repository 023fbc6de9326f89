"""The OpenAPI document states what the runtime enforces (schemathesis checks it against a live
server in tests/contract; these pin the rules that a fuzzer may not happen to hit)."""

import re

from hypothesis import given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from pydantic import TypeAdapter, ValidationError

from shared.runtime.openapi import build
from shared.runtime.registry import all_operations
from shared.schemas.common import Name

DOCUMENT = build(all_operations(), title="Billing API", version="test")


def operation(method: str, path: str) -> dict:
    return DOCUMENT["paths"][path][method]


def header(spec: dict, name: str) -> dict:
    return next(p for p in spec["parameters"] if p["in"] == "header" and p["name"] == name)


def test_the_document_is_valid_openapi_3_1() -> None:
    validate(DOCUMENT)


def test_bodies_that_may_be_empty_are_not_required() -> None:
    assert operation("patch", "/v1/customers/{id}")["requestBody"]["required"] is False
    assert operation("patch", "/v1/settings")["requestBody"]["required"] is False
    assert operation("post", "/v1/subscriptions/{id}/cancel")["requestBody"]["required"] is False
    assert operation("post", "/v1/customers")["requestBody"]["required"] is True


def test_error_statuses_are_documented_where_they_occur() -> None:
    for op in all_operations():
        responses = set(operation(op.method.lower(), op.path)["responses"])
        assert {"422", "503"} <= responses, op.name  # unknown query parameters; the database
        if op.auth:
            assert {"401", "429"} <= responses, op.name
            assert ("403" in responses) == (op.method != "GET"), op.name
        else:
            assert not {"401", "403", "429"} & responses, op.name
        if op.method in ("POST", "PATCH"):
            assert {"400", "413"} <= responses, op.name
        if "{id}" in op.path:
            assert "404" in responses, op.name
    assert "409" in operation("post", "/v1/customers")["responses"]  # Idempotency-Key in progress
    assert "409" in operation("patch", "/v1/customers/{id}")["responses"]  # duplicate email
    assert "409" in operation("delete", "/v1/test_clocks/{id}")["responses"]  # advancing meanwhile
    assert "404" in operation("get", "/v1/invoices")["responses"]  # starting_after, customer_id
    assert "404" not in operation("post", "/v1/tax_rates")["responses"]


def test_header_formats_are_the_enforced_ones() -> None:
    key = header(operation("post", "/v1/customers"), "Idempotency-Key")["schema"]
    pattern = re.compile(key["pattern"])
    assert (key["minLength"], key["maxLength"]) == (1, 255)
    assert pattern.fullmatch("order-42 retry") and not pattern.fullmatch(" padded ") and not pattern.fullmatch("é")
    request_id = header(operation("get", "/v1/customers"), "X-Request-Id")
    assert request_id["required"] is False and request_id["schema"] == {"type": "string"}  # replaced, never refused
    renew = operation("post", "/cloudevents/renew")
    for name in ("ce-specversion", "ce-id", "ce-source", "ce-type"):
        assert header(renew, name)["required"] is True
    assert (
        header(renew, "ce-time")["schema"]["format"] == "date-time" and "24" in header(renew, "ce-time")["description"]
    )
    assert renew["security"] == [] and renew["x-internal"] is True


def test_documented_field_rules_match_the_validators() -> None:
    schemas = DOCUMENT["components"]["schemas"]
    email = schemas["CustomerCreate"]["properties"]["email"]
    rule = re.compile(email["pattern"])
    assert rule.search("ada@example.com") and not rule.search("ada@example.test") and not rule.search("ada@localhost")
    currency = re.compile(schemas["PlanCreate"]["properties"]["currency"]["pattern"])
    assert currency.fullmatch("usd") and currency.fullmatch("KWD") and not currency.fullmatch("XYZ")
    count = schemas["PlanCreate"]["properties"]["interval_count"]
    assert (count["minimum"], count["maximum"]) == (1, 1095)
    limits = {
        rule["if"]["properties"]["interval"]["const"]: rule["then"]["properties"]["interval_count"]["maximum"]
        for rule in schemas["PlanCreate"]["allOf"]
    }
    assert limits == {"day": 1095, "week": 156, "month": 36, "year": 3}
    settings = schemas["SettingsUpdate"]["properties"]["days_until_due"]["anyOf"][0]
    assert (settings["minimum"], settings["maximum"]) == (0, 365)  # not pydantic's non-standard ge/le
    assert schemas["CustomerCreate"]["properties"]["name"]["not"] == {"pattern": "\\u0000"}


@settings(max_examples=300)
@given(
    st.text(
        alphabet=st.sampled_from(["a", "é", " ", "\t", "\n", "\u3000", "\u00a0", "\x1c", "\ufeff"]), max_size=300
    ).map(lambda s: s if len(s) < 40 else s.replace("a", "b" * 3))
)
def test_the_documented_name_rule_is_the_enforced_one(name: str) -> None:
    pattern = DOCUMENT["components"]["schemas"]["CustomerCreate"]["properties"]["name"]["pattern"]
    try:
        TypeAdapter(Name).validate_python(name)
        accepted = True
    except ValidationError:
        accepted = False
    assert (re.search(pattern, name) is not None) == accepted
