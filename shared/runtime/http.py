"""Turns a registry Operation into an aiohttp handler: authenticate, parse, call, render."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError
from pydantic_core import to_json

from shared.db import event_writer
from shared.runtime.app_state import API_KEY_ID, API_KEY_SCOPE, AUTH, CLOCK, READS, REQUEST_ID, SETTINGS, TENANT_ID
from shared.runtime.auth import CHALLENGE, Refused, client_address
from shared.runtime.call import Call, Rendered
from shared.runtime.problems import from_validation, problem
from shared.runtime.registry import Operation
from shared.schemas.common import ID_PATTERN, Body, Query

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # all a read-only key may do
_ID = re.compile(ID_PATTERN)


def looks_like_id(value: str) -> bool:
    """fullmatch, not match: with `$`, match would accept a trailing newline."""
    return _ID.fullmatch(value) is not None


class DuplicateKey(ValueError):
    pass


def _refuse_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    seen = dict(pairs)  # in C; a key given twice makes it shorter
    if len(seen) < len(pairs):
        keys: set[str] = set()
        for key, _ in pairs:
            if key in keys:
                raise DuplicateKey(key)
            keys.add(key)
    return seen


def _check_duplicate_keys(raw: bytes) -> None:
    """pydantic keeps the last of repeated keys while the idempotency fingerprint sees the
    raw bytes, so one body could mean two things: refuse it. Other syntax errors are left
    to pydantic's parser, which reports them."""
    try:
        json.loads(raw, object_pairs_hook=_refuse_duplicates)
    except DuplicateKey as error:
        raise Rejected(problem(400, f"the request body repeats the JSON object key {str(error)[:64]!r}")) from None
    except (ValueError, RecursionError):
        return


class NoBody(Body):
    """Operations without a body accept nothing, or an empty JSON object."""


class NoQuery(Query):
    pass


class Rejected(Exception):
    def __init__(self, response: web.Response) -> None:
        self.response = response


async def authenticate(request: web.Request, op: Operation) -> None:
    """Bearer key -> tenant, key id and scope on the request; else 401, 403 or 429."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Rejected(problem(401, "send your API key as 'Authorization: Bearer <key>'", headers=CHALLENGE))
    app = request.app
    auth = app[AUTH]
    client = client_address(
        request.remote, request.headers.getall("X-Forwarded-For", []), app[SETTINGS].trusted_proxy_hops
    )
    try:
        grant = await auth.grant(key.strip(), client, app[READS], app[CLOCK].now())
        auth.admit(grant, write=op.method not in READ_METHODS)
    except Refused as refused:
        raise Rejected(problem(refused.status, refused.detail, headers=refused.headers)) from None
    request[TENANT_ID] = grant.tenant_id
    request[API_KEY_ID] = grant.key_id
    request[API_KEY_SCOPE] = grant.scope


async def parse_body(request: web.Request, model: type[BaseModel]) -> BaseModel:
    raw = await request.read()  # aiohttp enforces client_max_size here (413)
    if not raw:  # no body at all: the empty object (whitespace alone is not JSON: refused below)
        raw = b"{}"
    elif request.content_type not in ("application/json", "application/octet-stream") and not (
        request.content_type.endswith("+json")
    ):
        raise Rejected(problem(415, f"send JSON (application/json), not {request.content_type}"))
    _check_duplicate_keys(raw)
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        raise Rejected(from_validation(error)) from error


def parse_query(request: web.Request, model: type[BaseModel]) -> BaseModel:
    repeated = [key for key in set(request.query.keys()) if len(request.query.getall(key)) > 1]
    if repeated:
        raise Rejected(problem(422, f"query parameter(s) given more than once: {sorted(repeated)}"))
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as error:
        raise Rejected(from_validation(error, where="query")) from error


def render(op: Operation, result: object) -> web.Response:
    if op.response is None:
        return web.Response(status=op.status)
    if isinstance(result, Rendered):
        # The same bytes the model would give (tests/db/test_hot_reads.py compares them).
        return web.Response(status=op.status, body=to_json(result.payload), content_type="application/json")
    payload = op.response.model_validate(result, from_attributes=True)
    return web.Response(status=op.status, body=payload.model_dump_json(), content_type="application/json")


async def read_cloudevent(request: web.Request) -> Any:
    """The CloudEvent SDK is imported by the CloudEvent functions only (a cold start of any
    other function does not pay for it)."""
    from shared.runtime.cloudevents import NotACloudEvent, read_event

    try:
        return await read_event(request)
    except NotACloudEvent as rejected:
        raise Rejected(rejected.response) from None


def http_handler(op: Operation):
    body_model = op.body or NoBody
    query_model = op.query or NoQuery

    async def handle(request: web.Request) -> web.StreamResponse:
        if op.max_body_bytes is not None:
            request._client_max_size = op.max_body_bytes  # read() enforces it (413)
        try:
            if op.auth:
                await authenticate(request, op)
            for value in request.match_info.values():
                if not looks_like_id(value):  # cannot be an id of ours: no need to ask the database
                    raise Rejected(problem(404, f"no such object: {value[:64]!r}"))
            query = parse_query(request, query_model)
            body: Any  # a CloudEvent, a validated body model, or nothing
            if op.signature == "cloudevent":
                body = await read_cloudevent(request)
            elif request.method in ("POST", "PATCH", "PUT"):
                body = await parse_body(request, body_model)
            else:
                body = None
        except Rejected as rejected:
            return rejected.response

        async def run() -> web.Response:
            event_writer.CAUSE.set((request.get(REQUEST_ID), request.get(API_KEY_ID)))  # this request's task only
            return render(op, await op.handler(Call(request, body=body, query=query)))

        if op.auth and request.method == "POST":
            from shared.runtime import idempotent_requests  # loaded where a keyed POST can arrive

            key = request.headers.get(idempotent_requests.HEADER)
            if key is not None:
                return await idempotent_requests.run_once(request, op.name, key, await request.read(), run)
        return await run()

    handle.__name__ = op.operation_id
    return handle
