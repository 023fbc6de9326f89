"""The app factory: one aiohttp application serving the selected functions."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from aiohttp import web

from shared import logs, telemetry
from shared.clock import Clock, SystemClock
from shared.db import hot_reads
from shared.db.driver_pool import DriverPool
from shared.runtime import outages
from shared.runtime.app_state import (
    ADVANCES,
    AUTH,
    CLOCK,
    DISPATCHER,
    ENGINE,
    OPERATIONS,
    READS,
    REQUEST_ID,
    SESSIONS,
    SETTINGS,
    TENANT_ID,
)
from shared.runtime.auth import Authenticator
from shared.runtime.docs import add_docs_routes
from shared.runtime.http import http_handler
from shared.runtime.problems import problem, problems_middleware, unavailable
from shared.runtime.registry import Operation, driver_only, select
from shared.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger("billing")
access = logging.getLogger("billing.access")
QUIET_PATHS = ("/health", "/ready", "/metrics")


def package_version() -> str:
    try:
        return version("billing-functions")
    except PackageNotFoundError:
        return "0.0.0"


@web.middleware
async def request_log_middleware(request: web.Request, handler):
    """Request id (the caller's X-Request-Id or a new one, echoed back) and one log line
    per request. Outermost, so it sees the final status of every response."""
    incoming = request.headers.get("X-Request-Id", "")
    # Accept a caller's id only if it is short and printable: it ends up in logs.
    rid = incoming if 0 < len(incoming) <= 128 and incoming.isprintable() else secrets.token_hex(16)
    request[REQUEST_ID] = rid
    started = time.perf_counter()
    response = await handler(request)
    response.headers["X-Request-Id"] = rid
    if request.path not in QUIET_PATHS:
        route = getattr(request.match_info.route.resource, "canonical", None) if request.match_info.route else None
        duration_ms = round((time.perf_counter() - started) * 1000, 2)
        access.info(
            "%s %s %d %.2fms",
            request.method,
            route or request.path,
            response.status,
            duration_ms,
            extra={
                "method": request.method,
                "route": route,
                "status": response.status,
                "duration_ms": duration_ms,
                "request_id": rid,
                "tenant_id": request.get(TENANT_ID),
            },
        )
    return response


async def _database(app: web.Application) -> AsyncIterator[None]:
    from shared.db.engine import make_engine, make_sessionmaker

    settings = app[SETTINGS]
    if not settings.database_url:
        raise SystemExit("DATABASE_URL is not set (billing serve starts an embedded database when it is unset)")
    engine = make_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
    )
    app[ENGINE] = app[READS] = engine
    app[outages.OUTAGES] = outages.watch(engine)
    app[SESSIONS] = make_sessionmaker(engine)
    if settings.bootstrap_api_key:
        await _bootstrap_key(app, engine)
    yield
    await engine.dispose()


async def _driver_database(app: web.Application) -> AsyncIterator[None]:
    """The database of a process whose operations are all driver_only: a plain asyncpg pool
    (shared.db.driver_pool), no SQLAlchemy engine or sessions (nor their imports)."""
    settings = app[SETTINGS]
    if not settings.database_url:
        raise SystemExit("DATABASE_URL is not set (billing serve starts an embedded database when it is unset)")
    pool = await DriverPool(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
    ).start()
    app[READS] = pool
    app[outages.OUTAGES] = outages.watch(pool)
    if settings.bootstrap_api_key:  # the one write such a process makes: an engine for it alone
        from shared.db.engine import make_engine

        engine = make_engine(settings.database_url, pool_size=1, max_overflow=0)
        try:
            await _bootstrap_key(app, engine)
        finally:
            await engine.dispose()
    yield
    await pool.close()


async def _bootstrap_key(app: web.Application, engine: AsyncEngine) -> None:
    # Imported here: a function that reads through shared.db.hot_reads never loads the
    # ORM's tables and services otherwise (cold start).
    from shared.db.engine import make_sessionmaker
    from shared.db.uow import UnitOfWork
    from shared.services.tenants import ensure_bootstrap_key

    settings = app[SETTINGS]
    assert settings.bootstrap_api_key is not None
    await ensure_bootstrap_key(UnitOfWork(make_sessionmaker(engine)), settings.bootstrap_api_key, app[CLOCK])


async def _clock_advances(app: web.Application) -> AsyncIterator[None]:
    """The background worker for test-clock advances (after the database, stopped before it)."""
    from shared.renewal.clock_advances import Advancer

    settings = app[SETTINGS]
    advancer = Advancer(
        app[ENGINE],
        lease_seconds=settings.clock_lease_seconds,
        poll_seconds=settings.clock_poll_seconds,
        invoice_budget=settings.renewal_invoice_budget,
    )
    app[ADVANCES] = advancer
    advancer.start()
    yield
    await advancer.stop()


async def _event_dispatcher(app: web.Application) -> AsyncIterator[None]:
    """The webhook/CloudEvent dispatcher as a background task (after the database, stopped
    before it), on an engine of its own (two connections) so it never takes the requests'
    pool, and one more connection that LISTENs for the event writer's NOTIFY."""
    from sqlalchemy.engine import make_url

    from shared.db.engine import async_url, make_engine
    from shared.events.dispatcher import Dispatcher  # loaded only where it runs

    settings = app[SETTINGS]
    assert settings.database_url is not None
    engine = make_engine(settings.database_url, pool_size=2, max_overflow=0, pool_timeout=30)
    dispatcher = Dispatcher(
        engine,
        allow_private=settings.webhook_allow_private,
        batch=settings.dispatch_batch,
        poll_seconds=settings.dispatch_poll_seconds,
        k_sink=settings.k_sink,
        retention_days=settings.event_retention_days,
        lease_seconds=settings.dispatch_lease_seconds,
    )
    app[DISPATCHER] = dispatcher
    dispatcher.start(
        make_url(async_url(settings.database_url)).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    yield
    await dispatcher.stop()
    await engine.dispose()


async def health(request: web.Request) -> web.Response:
    """Liveness: the process answers. Deliberately no database call."""
    return web.json_response({"status": "ok"})


async def ready(request: web.Request) -> web.Response:
    """Readiness: the database answers within two seconds. An outage counts in the
    episode (logged once), not a line per probe."""
    try:
        async with asyncio.timeout(2):
            async with hot_reads.connection(request.app[READS]) as db:
                await db.fetchval("SELECT 1")
    except Exception as error:  # any failure means "not ready", never a 500
        outage = outages.classify(error)
        if outage is not None:
            return unavailable(request.app, outage)
        log.warning("readiness check failed: %s", logs.describe(error))
        return problem(503, "the database is not reachable", headers={"Retry-After": str(outages.RETRY_AFTER_SECONDS)})
    return web.json_response({"status": "ready"})


async def prometheus_metrics(request: web.Request) -> web.Response:
    body, content_type = telemetry.exposition()
    response = web.Response(body=body)
    response.headers["Content-Type"] = content_type
    return response


# Internal routes: operations with public=False and /metrics. With a separate internal listener
# (the combined server) they are served only there, and only they are.
METRICS_PATH = "/metrics"
INTERNAL_PORT = web.AppKey("internal_port", object)  # int, or None: one listener serves everything
ALWAYS_SERVED = ("/health", "/ready", "/openapi.json", "/docs")


def _on_internal_listener(request: web.Request) -> bool:
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    return isinstance(sockname, tuple) and len(sockname) >= 2 and sockname[1] == request.app[INTERNAL_PORT]


def _listener_operations(request: web.Request) -> tuple[Operation, ...]:
    """The operations reachable on the listener this request came in on."""
    ops = request.app[OPERATIONS]
    if request.app[INTERNAL_PORT] is None:
        return ops
    internal = _on_internal_listener(request)
    return tuple(op for op in ops if op.public != internal)


@web.middleware
async def listener_middleware(request: web.Request, handler):
    """Public routes on the public listener, internal ones on the internal listener: the
    other listener answers 404 as if the route did not exist."""
    if request.app[INTERNAL_PORT] is None:
        return await handler(request)
    resource = request.match_info.route.resource if request.match_info.route else None
    canonical = getattr(resource, "canonical", None)
    if canonical is None or canonical.startswith(ALWAYS_SERVED):
        return await handler(request)
    internal_route = canonical == METRICS_PATH or any(
        op.path == canonical and not op.public for op in request.app[OPERATIONS]
    )
    if internal_route != _on_internal_listener(request):
        return problem(404, f"no route for {request.method} {request.path}")
    return await handler(request)


async def openapi_document(request: web.Request) -> web.Response:
    from shared.runtime import openapi  # rendering is rare: not part of a cold start

    document = openapi.build(_listener_operations(request), title="Billing API", version=package_version())
    return web.json_response(document)


def check_signature(settings: Settings, operations: tuple[Operation, ...]) -> None:
    if settings.signature_type is None:
        return
    mismatched = [op.name for op in operations if op.signature != settings.signature_type]
    if mismatched:
        raise SystemExit(
            f"FUNCTION_SIGNATURE_TYPE={settings.signature_type} but {mismatched} are not "
            f"{settings.signature_type} functions; set FUNCTION_TARGET to select matching ones"
        )


def route_path(path: str, ops: Sequence[Operation]) -> str:
    """`path` as the router matches it: a parameter never matches a literal segment another
    operation has in its place (POST /v1/credit_notes/preview is not GET /v1/credit_notes/{id}
    with id "preview", so its Allow header lists POST only)."""
    segments = path.split("/")
    for i, segment in enumerate(segments):
        if not segment.startswith("{"):
            continue
        literals = sorted(
            {
                other[i]
                for other in (op.path.split("/") for op in ops)
                if len(other) == len(segments)
                and other[:i] == segments[:i]
                and other[i + 1 :] == segments[i + 1 :]
                and not other[i].startswith("{")
            }
        )
        if literals:
            excluded = "|".join(re.escape(literal) for literal in literals)
            segments[i] = f"{segment[:-1]}:(?!(?:{excluded})$)[^/]+}}"
    return "/".join(segments)


def make_app(
    settings: Settings,
    *,
    operations: tuple[Operation, ...] | None = None,
    clock: Clock | None = None,
    internal_port: int | None = None,
    dispatcher: bool = False,
) -> web.Application:
    """`internal_port`: the port of a separate internal listener (see listener_middleware);
    None serves every route on every listener (a per-function process, or a test)."""
    ops = select(settings.function_target) if operations is None else operations
    check_signature(settings, ops)
    middlewares = [request_log_middleware, problems_middleware, listener_middleware]
    if telemetry.setup(settings, package_version()):
        middlewares.insert(0, telemetry.http_middleware())
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=middlewares)
    app[INTERNAL_PORT] = internal_port
    app[SETTINGS] = settings
    app[CLOCK] = clock or SystemClock()
    app[OPERATIONS] = ops
    app[AUTH] = Authenticator(settings)
    # A process of driver_only operations (the hot reads) never loads SQLAlchemy.
    app.cleanup_ctx.append(_driver_database if driver_only(ops) and not dispatcher else _database)
    if any(op.name == "advance-test-clock" for op in ops):
        app.cleanup_ctx.append(_clock_advances)
    if dispatcher:
        app.cleanup_ctx.append(_event_dispatcher)
    for op in ops:
        app.router.add_route(op.method, route_path(op.path, ops), http_handler(op), name=op.name)
    if len(ops) == 1 and ops[0].signature == "cloudevent" and ops[0].path != "/":
        # A lone CloudEvent function also takes events at "/", as the Functions Framework
        # does (a PingSource sink with no path posts there).
        app.router.add_route(ops[0].method, "/", http_handler(ops[0]))
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    app.router.add_get(METRICS_PATH, prometheus_metrics)
    app.router.add_get("/openapi.json", openapi_document)
    add_docs_routes(app)
    return app
