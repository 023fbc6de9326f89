"""OpenAPI 3.1, derived from the registry and the pydantic models. Never written by hand."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from pydantic.json_schema import models_json_schema

from shared.runtime import idempotent_requests
from shared.runtime.registry import Operation
from shared.schemas.common import ID_PATTERN

_ID_PATTERN = repr(ID_PATTERN)[1:-1]  # as it appears inside str() of a schema dict

_PATH_PARAM = re.compile(r"{(\w+)}")
_ERRORS = {
    400: "Malformed request: the body is not JSON, repeats an object key, or is not a valid CloudEvent",
    401: "Missing or invalid API key",
    403: "The API key may not do this (a read-only key on a write operation)",
    404: "No such object for this tenant (path id, referenced id or starting_after cursor)",
    409: "Conflicts with the current state (duplicate, illegal transition, Idempotency-Key in use)",
    413: "Body larger than the limit",
    415: "Body is not JSON",
    422: "Invalid fields, query parameters or headers",
    429: "Too many requests for this tenant; retry after the Retry-After header's seconds",
    503: "The database is not reachable; retry later",
}
# Operations that can meet a conflict beyond the Idempotency-Key one every POST can.
_CONFLICTS = {
    "update-customer",
    "get-upcoming-invoice",
    "update-settings",
    "delete-coupon",
    "update-promotion-code",
    "delete-test-clock",  # an advance began meanwhile
}
_ID_ARGUMENTS = ("starting_after",)
# POSTs whose handler refuses an Idempotency-Key (422): a replay of create-api-key would have to
# return the secret, so it would have to be stored in clear.
_REFUSES_IDEMPOTENCY_KEY = {"create-api-key"}

# Families in the order of the README walk-through: Swagger UI shows the groups in this order.
TAGS: tuple[tuple[str, str], ...] = (
    ("customers", "Who you bill: create a customer first"),
    ("meters", "What usage you measure: events of one kind and how a period's events add up"),
    ("plans", "What you sell: a price per interval (a plan's price never changes; archive it instead)"),
    ("subscriptions", "A customer on a plan: trials, renewals, pauses, plan changes and cancellation"),
    ("usage", "Usage events in (idempotent by their id), usage per customer out: billed in arrears"),
    ("invoices", "What each period bills: open invoices are paid or voided"),
    ("test-clocks", "Simulated time: the customers of a test clock renew as the clock advances"),
    ("renewals", "Bill the subscriptions that are due now (a schedule does this for every tenant)"),
    ("usage-ingest", "Usage events as CloudEvents (a Knative Broker Trigger's sink), inside the cluster"),
    ("api-keys", "This tenant's API keys: read-only or read-write"),
    ("settings", "This tenant's billing terms"),
    ("webhooks", "Signed deliveries of events to your endpoints (Standard Webhooks): retries, log, replay"),
    ("events", "Every state change, in order per object: the same objects webhooks deliver"),
    ("coupons", "Coupons and promotion codes: discounts on subscriptions' invoices"),
    ("tax-rates", "Tax rates: default_tax_rates on settings, customers, plans and subscriptions (most specific wins)"),
    (
        "credit-notes",
        "Corrections of issued invoices: less due on open ones; credit, refund or out of band on paid ones",
    ),
)
# Within a family: create, list, retrieve, update, delete, then the actions on one object.
_KIND_ORDER = {("POST", False): 0, ("GET", False): 1, ("GET", True): 2, ("PATCH", True): 3, ("DELETE", True): 4}

_REQUEST_ID_HEADER = {
    "X-Request-Id": {
        "description": "The caller's X-Request-Id if it was 1-128 printable characters, else a new id",
        "schema": {"type": "string", "minLength": 1, "maxLength": 128},
    }
}
IDEMPOTENCY_KEY_SCHEMA = {
    "type": "string",
    "minLength": 1,
    "maxLength": 255,
    "pattern": idempotent_requests.KEY_PATTERN,
}
# Binary-mode CloudEvent attributes, as the cloudevents SDK and the renew function check them.
_CLOUDEVENT_HEADERS = [
    ("ce-specversion", True, {"type": "string", "enum": ["1.0", "0.3"]}, "CloudEvents spec version"),
    ("ce-id", True, {"type": "string", "minLength": 1}, "event id"),
    ("ce-source", True, {"type": "string", "minLength": 1}, "event source (URI reference)"),
    ("ce-type", True, {"type": "string", "minLength": 1}, "event type, e.g. dev.knative.sources.ping"),
    (
        "ce-time",
        False,
        {"type": "string", "format": "date-time"},
        "RFC 3339 as-of time, at most BILLING_RENEW_MAX_AGE_HOURS (24) hours old and at most 5 minutes ahead of "
        "the server's clock (else 422); omitted: now. The run is capped at now.",
    ),
]


def error_statuses(op: Operation, body_schema: dict[str, Any] | None, query_schema: dict[str, Any] | None) -> list[int]:
    """The problem statuses `op` can answer with, derived from what the runtime does."""
    statuses = {422, 503}  # unknown query parameters on every operation; every operation uses the database
    reads_body = op.method in ("POST", "PATCH", "PUT")
    if reads_body or op.signature == "cloudevent":
        statuses |= {400, 413}
    if reads_body and op.signature == "http":
        statuses.add(415)
    if op.auth:
        statuses |= {401, 429}
        if op.method != "GET":
            statuses.add(403)
        if op.method == "POST" and op.name not in _REFUSES_IDEMPOTENCY_KEY:
            statuses.add(409)  # Idempotency-Key still in progress
    if op.name in _CONFLICTS:
        statuses.add(409)
    if _PATH_PARAM.search(op.path) or _refers_to_ids(body_schema) or _refers_to_ids(query_schema):
        statuses.add(404)
    return sorted(statuses)


def _id_fields(schema: dict[str, Any] | None) -> list[str]:
    """The fields of a body or query that name one of our ids (customer_id, starting_after, ...)."""
    if not schema:
        return []
    return [
        name for name, prop in schema.get("properties", {}).items() if name in _ID_ARGUMENTS or _ID_PATTERN in str(prop)
    ]


def _refers_to_ids(schema: dict[str, Any] | None) -> bool:
    """A body or query naming one of our ids can be 404."""
    return bool(_id_fields(schema))


def _not_found(op: Operation, body_schema: dict[str, Any] | None, query_schema: dict[str, Any] | None) -> str:
    """The 404 description of `op`: which of its ids may name nothing."""
    sources = [f"path {name}" for name in _PATH_PARAM.findall(op.path)]
    sources += _id_fields(body_schema) + _id_fields(query_schema)
    return f"No such object for this tenant: {', '.join(sources)}"


def walkthrough_order(operations: tuple[Operation, ...]) -> list[Operation]:
    """Operations grouped by family in TAGS order (unknown families after, by name)."""
    families = [name for name, _ in TAGS]

    def key(op: Operation) -> tuple[int, str, bool, int, str, str]:
        family = families.index(op.family) if op.family in families else len(families)
        if "{" not in op.path:
            kind = _KIND_ORDER.get((op.method, False), 5)
        elif op.path.endswith("}"):
            kind = _KIND_ORDER.get((op.method, True), 5)
        else:
            kind = 5  # an action: /v1/subscriptions/{id}/cancel
        return family, op.family, not op.public, kind, op.path, op.method

    return sorted(operations, key=key)


def _tags(operations: tuple[Operation, ...]) -> list[dict[str, str]]:
    used = {op.family for op in operations}
    known = [{"name": name, "description": text} for name, text in TAGS if name in used]
    return known + [{"name": name} for name in sorted(used - {name for name, _ in TAGS})]


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}, "code": {"type": "string"}},
            },
        },
    },
}


def _query_parameters(schema: dict[str, Any] | None) -> list[dict[str, Any]]:
    if schema is None:
        return []
    return [
        {"name": name, "in": "query", "required": name in schema.get("required", []), "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]


def _name(ref: dict[str, str]) -> str:
    return ref["$ref"].rsplit("/", 1)[-1]


_NO_NUL = {"pattern": r"\u0000"}


def _forbid_nul(node: Any) -> None:
    """Body strings may not hold U+0000 (PostgreSQL text cannot; Body refuses it): say so."""
    if isinstance(node, dict):
        if node.get("type") == "string" and "enum" not in node and "const" not in node:
            node.setdefault("not", dict(_NO_NUL))
        if isinstance(node.get("propertyNames"), dict):
            node["propertyNames"].setdefault("not", dict(_NO_NUL))
        for value in list(node.values()):
            _forbid_nul(value)
    elif isinstance(node, list):
        for value in node:
            _forbid_nul(value)


def _collection(path: str) -> str:
    """/v1/subscriptions/{id}/cancel -> /v1/subscriptions"""
    return path.split("/{", 1)[0]


def _add_links(operations: tuple[Operation, ...], paths: dict[str, dict[str, Any]]) -> None:
    """OpenAPI links: the id an operation returns (or the first id of a list it returns) is the
    {id} of every operation on that object, so clients and stateful testers can follow them."""
    by_collection: dict[str, list[Operation]] = {}
    for op in operations:
        if "{id}" in op.path:
            by_collection.setdefault(_collection(op.path), []).append(op)
    for op in operations:
        if op.response is None or "id" not in op.response.model_fields and "data" not in op.response.model_fields:
            continue
        targets = [t for t in by_collection.get(_collection(op.path), []) if t is not op]
        if not targets:
            continue
        pointer = "$response.body#/data/0/id" if "data" in op.response.model_fields else "$response.body#/id"
        paths[op.path][op.method.lower()]["responses"][str(op.status)]["links"] = {
            target.operation_id: {"operationId": target.operation_id, "parameters": {"id": pointer}}
            for target in targets
        }


@cache  # depends only on the (immutable) operations: built once per process, on first request
def build(operations: tuple[Operation, ...], *, title: str, version: str) -> dict[str, Any]:
    by_name = lambda m: m.__name__  # noqa: E731
    bodies = sorted({op.body for op in operations if op.body is not None}, key=by_name)
    queries = sorted({op.query for op in operations if op.query is not None}, key=by_name)
    responses = sorted({op.response for op in operations if op.response is not None}, key=by_name)
    # One pass over every model, so shared enums become components that all refs resolve to.
    wanted = [(m, "validation") for m in bodies + queries] + [(m, "serialization") for m in responses]
    refs, defs = models_json_schema(wanted, ref_template="#/components/schemas/{model}")  # type: ignore[arg-type]
    schemas = defs.get("$defs", {})
    # Query models become parameters, not components of their own.
    query_schemas = {model: schemas.pop(_name(refs[(model, "validation")])) for model in queries}
    for model in bodies:
        _forbid_nul(schemas[_name(refs[(model, "validation")])])
    schemas["Problem"] = PROBLEM_SCHEMA

    paths: dict[str, dict[str, Any]] = {}
    for op in walkthrough_order(operations):
        body_schema = schemas[_name(refs[(op.body, "validation")])] if op.body is not None else None
        query_schema = query_schemas.get(op.query) if op.query else None
        spec: dict[str, Any] = {
            "operationId": op.operation_id,
            "summary": op.summary,
            "tags": [op.family],
            "x-function": op.name,
            "parameters": [
                {
                    "name": name,
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": ID_PATTERN},
                }
                for name in _PATH_PARAM.findall(op.path)
            ]
            + _query_parameters(query_schema),
            "responses": {},
        }
        if not op.public:
            spec["x-internal"] = True
            spec["description"] = (
                "Internal: cluster-local on Knative; on `billing serve`, only on the internal listener."
            )
        if op.name in _REFUSES_IDEMPOTENCY_KEY:
            spec["description"] = "An Idempotency-Key header is refused (422): a replay would need the secret stored."
        elif op.auth and op.method == "POST":
            spec["parameters"].append(
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "description": "Retries with the same key replay the first response instead of acting twice (24 h)",
                    "schema": IDEMPOTENCY_KEY_SCHEMA,
                }
            )
        if op.signature == "cloudevent":
            spec["parameters"] += [
                {"name": name, "in": "header", "required": required, "schema": schema, "description": text}
                for name, required, schema, text in _CLOUDEVENT_HEADERS
            ]
            spec["description"] = (
                spec.get("description", "") + " A CloudEvent in binary mode (documented here) "
                "or structured mode (application/cloudevents+json)."
            ).strip()
        spec["parameters"].append(
            {
                "name": "X-Request-Id",
                "in": "header",
                "required": False,
                "description": "Your id for this request, echoed back and logged if 1-128 printable characters "
                "(otherwise replaced by a new one, never refused)",
                "schema": {"type": "string"},
            }
        )
        spec["security"] = [{"bearerAuth": []}] if op.auth else []
        if op.body is not None:
            spec["requestBody"] = {
                # A body with no required field may be left out entirely (e.g. PATCH, cancel);
                # one that must name one of several fields (oneOf) may not.
                "required": bool(body_schema and (body_schema.get("required") or body_schema.get("oneOf"))),
                "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
            }
            if body_schema and body_schema.get("examples"):
                # Swagger UI's "Try it out" prefills the media type's example, in the fields' order.
                example = body_schema["examples"][0]
                spec["requestBody"]["content"]["application/json"]["example"] = {
                    name: example[name] for name in body_schema["properties"] if name in example
                }
        ok: dict[str, Any] = {"description": "Success", "headers": _REQUEST_ID_HEADER}
        if op.response is not None:
            ok["content"] = {"application/json": {"schema": refs[(op.response, "serialization")]}}
        spec["responses"][str(op.status)] = ok
        for status in error_statuses(op, body_schema, query_schema):
            spec["responses"][str(status)] = {
                "description": _not_found(op, body_schema, query_schema) if status == 404 else _ERRORS[status],
                "headers": _REQUEST_ID_HEADER,
                "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
            }
        paths.setdefault(op.path, {})[op.method.lower()] = spec
    _add_links(operations, paths)

    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "Subscription billing: customers, plans, subscriptions and invoices. "
            "Money is integer minor units with an ISO 4217 currency; timestamps are RFC 3339 UTC.",
        },
        "tags": _tags(operations),
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "description": "API key"}},
        },
    }
