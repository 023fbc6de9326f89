"""OpenTelemetry metrics, exported in Prometheus format at /metrics on the function's port.

Set up once per process. HTTP server metrics (stable semantic conventions, the names and
attributes of OpenTelemetry's aiohttp-server instrumentation) come from one middleware with
no span (http_metrics_middleware). Database metrics (db.client.operation.duration, db.client.connections.usage)
are recorded straight from SQLAlchemy's engine and pool events: no span per statement
(nothing exports traces here; spans, their attributes and the processor cost about a
sixth of a request's CPU).
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from typing import Any

from opentelemetry import metrics
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from shared.db import driver_pool, hot_reads
from shared.settings import Settings

_lock = threading.Lock()
_configured = False
_http_middleware: Any = None
_sqlalchemy_events: Any = None  # installs the SQLAlchemy listeners (once SQLAlchemy is loaded)

# Seconds; fine at the fast end, where database calls and most requests live.
LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
RUN_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600]


def resource_attributes(settings: Settings, version: str) -> dict[str, str]:
    """Which function this is: Knative's K_SERVICE / K_REVISION when set, else FUNCTION_TARGET."""
    function = os.environ.get("K_SERVICE") or settings.function_target or "billing"
    attributes = {"service.name": function, "service.version": version, "faas.name": function}
    if os.environ.get("K_REVISION"):
        attributes["faas.version"] = os.environ["K_REVISION"]
    return attributes


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})
# Probes and scrapes are not traffic (patterns searched in the path, as the OpenTelemetry
# aiohttp instrumentation's OTEL_PYTHON_AIOHTTP_SERVER_EXCLUDED_URLS, which is honoured).
DEFAULT_EXCLUDED = r"/metrics$,/health$,/ready$,/docs"


class Tally:
    """An up/down counter kept as plain integers and reported when metrics are collected
    (an observable up-down counter: the same name, unit, description and exported series
    as the synchronous one). A request then pays a dict lookup and an integer add per
    change, not a measurement through the SDK (its attribute hashing, view matching and
    lock) on every pool checkout, checkin and request."""

    def __init__(self, meter: metrics.Meter, name: str, unit: str, description: str) -> None:
        self._cells: dict[Any, list[Any]] = {}  # key -> [attributes, value]
        meter.create_observable_up_down_counter(name, callbacks=[self._observe], unit=unit, description=description)

    def add(self, amount: int, key: Any, attributes: dict[str, Any]) -> None:
        """Add `amount` to the series of `attributes`, which `key` (hashable) stands for."""
        cell = self._cells.get(key)
        if cell is None:
            cell = self._cells[key] = [attributes, 0]
        cell[1] += amount

    def _observe(self, options: CallbackOptions) -> list[Observation]:
        return [Observation(value, attributes) for attributes, value in list(self._cells.values())]


def http_metrics_middleware() -> Any:
    """http.server.request.duration and http.server.active_requests with the attributes of
    the OpenTelemetry aiohttp-server instrumentation (stable HTTP conventions), without its
    server span: nothing exports traces here, and the span, its context extraction and
    attribute collection cost a tenth of a request. Attribute sets are built once each."""
    from aiohttp import web

    meter = metrics.get_meter("billing.http")
    durations = meter.create_histogram(
        "http.server.request.duration", unit="s", description="Duration of HTTP server requests."
    )
    active = Tally(meter, "http.server.active_requests", "{request}", "Number of active HTTP server requests.")
    patterns = os.environ.get("OTEL_PYTHON_AIOHTTP_SERVER_EXCLUDED_URLS", DEFAULT_EXCLUDED)
    excluded = re.compile("|".join(f"(?:{p.strip()})" for p in patterns.split(",") if p.strip()) or "(?!)")
    attribute_sets: dict[tuple[Any, ...], dict[str, Any]] = {}

    def attributes(*key: Any) -> dict[str, Any]:
        found = attribute_sets.get(key)
        if found is None:
            method, scheme, route, version, status = key
            found = {"http.request.method": method, "url.scheme": scheme}
            if route is not None:  # None: the active-requests set
                found = {**found, "http.route": route, "network.protocol.version": version}
                if isinstance(status, int):
                    found["http.response.status_code"] = status
                    if status >= 500:
                        found["error.type"] = str(status)
                else:
                    found["error.type"] = status
            if len(attribute_sets) < 4096:
                attribute_sets[key] = found
        return found

    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        if excluded.search(request.path):
            return await handler(request)
        method = request.method if request.method in _METHODS else "_OTHER"
        scheme = request.scheme
        counting_key = (method, scheme)
        counting = attributes(method, scheme, None, None, None)
        started = time.perf_counter()
        active.add(1, counting_key, counting)
        status: int | str = "Exception"
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as error:
            status = error.status_code
            raise
        except Exception as error:
            status = type(error).__qualname__
            raise
        finally:
            resource = getattr(request.match_info.route, "resource", None)
            route = resource.canonical if resource is not None else ""
            version = f"{request.version.major}.{request.version.minor}"
            durations.record(max(time.perf_counter() - started, 0), attributes(method, scheme, route, version, status))
            active.add(-1, counting_key, counting)

    return middleware


def instrument_database(system: str = "postgresql") -> None:
    """Statement durations and pool usage for every engine of this process, from SQLAlchemy's
    events (class-level listeners: engines made later are covered too), and for every
    driver pool (shared.db.driver_pool). SQLAlchemy's listeners are installed when it is
    loaded (instrument_sqlalchemy): a driver-only process never imports it."""
    global _sqlalchemy_events
    meter = metrics.get_meter("billing.db")
    durations = meter.create_histogram(
        "db.client.operation.duration", unit="s", description="Duration of database client operations"
    )
    usage = Tally(
        meter,
        "db.client.connections.usage",
        "connections",
        "The number of connections that are currently in state described by the state attribute.",
    )
    operations: dict[str, dict[str, str]] = {}  # first word of a statement -> its attributes, built once
    idle = {"db.system.name": system, "state": "idle"}
    used = {"db.system.name": system, "state": "used"}

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if context is not None:
            context._billing_started = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        started = getattr(context, "_billing_started", None)
        if started is None:
            return
        word = statement.lstrip()[:12].split(" ", 1)[0].upper() or "OTHER"
        attributes = operations.get(word)
        if attributes is None:
            attributes = {"db.system.name": system, "db.operation.name": word}
            if len(operations) < 64:
                operations[word] = attributes
        durations.record(time.perf_counter() - started, attributes)

    def observe(word: str, seconds: float) -> None:  # statements sent on the driver directly
        durations.record(seconds, operations.get(word) or {"db.system.name": system, "db.operation.name": word})

    hot_reads.observe = observe

    def checkout(*_: Any) -> None:
        usage.add(-1, "idle", idle)
        usage.add(1, "used", used)

    def checkin(*_: Any) -> None:
        usage.add(-1, "used", used)
        usage.add(1, "idle", idle)

    def connected(*_: Any) -> None:
        usage.add(1, "idle", idle)

    def closed(*_: Any) -> None:
        usage.add(-1, "idle", idle)

    driver_pool.LISTENERS.append(driver_pool.PoolListener(connected, closed, checkout, checkin))

    def sqlalchemy_events() -> None:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine
        from sqlalchemy.pool import Pool

        event.listen(Engine, "before_cursor_execute", before)
        event.listen(Engine, "after_cursor_execute", after)
        event.listen(Pool, "connect", connected)
        event.listen(Pool, "close", closed)
        event.listen(Pool, "checkout", checkout)
        event.listen(Pool, "checkin", checkin)

    _sqlalchemy_events = sqlalchemy_events


def instrument_sqlalchemy() -> None:
    """Install the database metrics' SQLAlchemy listeners, once, if telemetry is set up.
    Called by shared.db.engine.make_engine (and by setup when SQLAlchemy is already loaded)."""
    global _sqlalchemy_events
    with _lock:
        install, _sqlalchemy_events = _sqlalchemy_events, None
    if install is not None:
        install()


def setup(settings: Settings, version: str) -> bool:
    """Install the meter provider and the database metrics, once per process. Returns False
    when telemetry is turned off (BILLING_TELEMETRY=off); else the application adds
    http_middleware()."""
    global _configured, _http_middleware
    if not settings.telemetry:
        return False
    with _lock:
        if _configured:
            return True
        resource = Resource.create(resource_attributes(settings, version))
        views = [
            View(
                instrument_name="http.server.request.duration",
                aggregation=ExplicitBucketHistogramAggregation(LATENCY_BUCKETS),
            ),
            View(
                instrument_name="db.client.operation.duration",
                aggregation=ExplicitBucketHistogramAggregation(LATENCY_BUCKETS),
            ),
            View(
                instrument_name="billing.renewal.duration", aggregation=ExplicitBucketHistogramAggregation(RUN_BUCKETS)
            ),
        ]
        metrics.set_meter_provider(
            MeterProvider(resource=resource, metric_readers=[PrometheusMetricReader()], views=views)
        )
        instrument_database()
        _http_middleware = http_metrics_middleware()
        _configured = True
    if "sqlalchemy.engine" in sys.modules:  # else shared.db.engine.make_engine installs them
        instrument_sqlalchemy()
    return True


def http_middleware() -> Any:
    """The HTTP metrics middleware of this process (once setup() has run)."""
    return _http_middleware


def exposition() -> tuple[bytes, str]:
    """The Prometheus text exposition of every metric in this process."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
