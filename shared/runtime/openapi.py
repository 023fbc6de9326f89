"""OpenAPI 3.1, derived from the registry and the pydantic models. Never written by hand."""
from __future__ import annotations

import re
from functools import cache
from typing import Any

from pydantic.json_schema import models_json_schema

from shared.runtime.registry import Operation

_PATH_PARAM = re.compile(r"{(\w+)}")
_ERRORS = {
    400: "Malformed JSON",
    401: "Missing or invalid API key",
    404: "No such object for this tenant",
    409: "Conflicts with the current state",
    413: "Body larger than the limit",
    415: "Body is not JSON",
    422: "Invalid fields",
}

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
    schemas["Problem"] = PROBLEM_SCHEMA

    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        spec: dict[str, Any] = {
            "operationId": op.operation_id,
            "summary": op.summary,
            "tags": [op.family],
            "x-function": op.name,
            "parameters": [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in _PATH_PARAM.findall(op.path)
            ]
            + _query_parameters(query_schemas.get(op.query) if op.query else None),
            "responses": {},
        }
        if op.auth and op.method == "POST":
            spec["parameters"].append({
                "name": "Idempotency-Key", "in": "header", "required": False,
                "description": "Retries with the same key replay the first response instead of acting twice (24 h)",
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            })
        if op.auth:
            spec["security"] = [{"bearerAuth": []}]
        else:
            spec["security"] = []
        if op.body is not None:
            spec["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
            }
        ok: dict[str, Any] = {"description": "Success"}
        if op.response is not None:
            ok["content"] = {"application/json": {"schema": refs[(op.response, "serialization")]}}
        spec["responses"][str(op.status)] = ok
        for status, text in _ERRORS.items():
            if status == 401 and not op.auth:
                continue
            spec["responses"][str(status)] = {
                "description": text,
                "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
            }
        paths.setdefault(op.path, {})[op.method.lower()] = spec

    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "Subscription billing: customers, plans, subscriptions and invoices. "
            "Money is integer minor units with an ISO 4217 currency; timestamps are RFC 3339 UTC.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "description": "API key"}},
        },
    }
