"""RFC 9457 problem details: every error response of the service is built here."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from shared import metrics
from shared.domain.errors import Conflict, DomainError, Invalid, NotFound
from shared.logs import RedactExceptions
from shared.runtime import outages

log = logging.getLogger("billing.http")
log.addFilter(RedactExceptions())  # tracebacks without SQL parameters or row values, whatever the handler

CONTENT_TYPE = "application/problem+json"

_TITLES = {
    400: ("malformed-request", "Malformed request"),
    401: ("unauthenticated", "Authentication required"),
    403: ("forbidden", "Not allowed for this API key"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    413: ("payload-too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-error", "Validation failed"),
    429: ("too-many-requests", "Too many requests"),
    500: ("internal-error", "Internal server error"),
    503: ("service-unavailable", "Service unavailable"),
}

_DETAILS = {
    404: "no route for {method} {path}",
    405: "{method} is not allowed on {path}",
    413: "the request body is larger than the limit",
}

_DOMAIN_STATUS: dict[type[DomainError], int] = {NotFound: 404, Conflict: 409, Invalid: 422}


def problem(status: int, detail: str, *, headers: dict[str, str] | None = None, **extra: Any) -> web.Response:
    slug, title = _TITLES.get(status, ("error", "Error"))
    if 400 <= status < 500:
        metrics.rejected.add(1, {"reason": slug})
    body = {"type": f"urn:billing:problem:{slug}", "title": title, "status": status, "detail": detail, **extra}
    return web.Response(status=status, text=json.dumps(body), content_type=CONTENT_TYPE, headers=headers)


def _field_errors(error: ValidationError) -> list[dict[str, str]]:
    return [
        {
            "field": ".".join(str(part) for part in item["loc"]) or "(body)",
            "message": item["msg"],
            "code": item["type"],
        }
        for item in error.errors(include_url=False, include_input=False)
    ]


def from_validation(error: ValidationError, *, where: str = "body") -> web.Response:
    if any(item["type"] == "json_invalid" for item in error.errors()):
        return problem(400, "the request body is not valid JSON")
    return problem(422, f"the request {where} has invalid fields", errors=_field_errors(error))


def from_domain(error: DomainError) -> web.Response:
    status = next(code for cls, code in _DOMAIN_STATUS.items() if isinstance(error, cls))
    extra: dict[str, Any] = {"errors": [{"field": error.field, "message": error.detail}]} if error.field else {}
    return problem(status, error.detail, **extra)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def problems_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every failure into problem+json. No input may produce a bare 500 page."""
    try:
        return await handler(request)
    except DomainError as error:
        return from_domain(error)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        detail = _DETAILS.get(error.status, error.reason).format(method=request.method, path=request.path)
        return problem(error.status, detail, headers={k: v for k, v in error.headers.items() if k == "Allow"})
    except Exception as error:
        outage = outages.classify(error)
        if outage is None:
            log.exception("unhandled error on %s %s", request.method, request.path)
            return problem(500, "an unexpected error occurred; it has been logged")
        return unavailable(request.app, outage)


def unavailable(app: web.Application, outage: outages.Outage) -> web.Response:
    """503 with Retry-After; counted in the app's outage episode, which logs once."""
    episodes = app.get(outages.OUTAGES)
    if episodes is not None:
        episodes.refused(outage)
    return problem(503, outages.detail(outage), headers={"Retry-After": str(outages.RETRY_AFTER_SECONDS)})
