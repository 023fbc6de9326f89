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
from bisect import bisect_left
from collections.abc import Callable, Iterator
from typing import Any

from opentelemetry import metrics
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from prometheus_client.metrics_core import Metric

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


class Series:
    """One attribute set's histogram: bucket counts, sum and count as plain numbers. A
    request records through the Series its route and status prebuilt (a list index and
    three adds), not through the SDK's Histogram.record (a Measurement object, the
    exemplar filter's context lookup, a copy and a hash of the attributes, a lock)."""

    __slots__ = ("attributes", "bounds", "counts", "sum", "count")

    def __init__(self, attributes: dict[str, Any], bounds: list[float]) -> None:
        self.attributes = attributes
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last: above every bound
        self.sum = 0.0
        self.count = 0

    def record(self, seconds: float) -> None:
        self.counts[bisect_left(self.bounds, seconds)] += 1  # v <= bound, as OpenTelemetry's buckets
        self.sum += seconds
        self.count += 1


MAX_SERIES = 2000  # attribute sets per histogram (OpenTelemetry's default cardinality limit)
_OVERFLOW = object()


class Histogram:
    """A duration histogram exported at /metrics as OpenTelemetry's Prometheus exporter
    exports its histograms: the same metric name (dots to underscores, unit suffix), HELP,
    labels (the attributes' names with underscores, plus otel_scope_name, _version and
    _schema_url) and explicit buckets. Recorded from the event loop's thread."""

    def __init__(self, name: str, unit: str, description: str, scope: str, bounds: list[float]) -> None:
        self.name = re.sub(r"[^a-zA-Z0-9_]", "_", name) + {"s": "_seconds"}.get(unit, "")
        self.description = description
        self.scope = {"otel_scope_name": scope, "otel_scope_schema_url": "", "otel_scope_version": ""}
        self.bounds = list(bounds)  # rendered as given ("1", not "1.0"), as the exporter does
        self._series: dict[Any, Series] = {}

    def series(self, key: Any, attributes: Callable[[Any], dict[str, Any]]) -> Series:
        """The series `key` (hashable) stands for, built once with `attributes(key)`. Past
        MAX_SERIES sets, one overflow series takes the rest (as OpenTelemetry's cardinality
        limit does)."""
        found = self._series.get(key)
        if found is None:
            if len(self._series) >= MAX_SERIES:
                return self.series(_OVERFLOW, lambda _: {"otel.metric.overflow": "true"})
            found = self._series[key] = Series(attributes(key), self.bounds)
        return found

    def family(self) -> Metric | None:
        if not self._series:
            return None
        family = Metric(self.name, self.description, "histogram")
        for series in list(self._series.values()):
            labels = {re.sub(r"[^a-zA-Z0-9_]", "_", k): str(v) for k, v in series.attributes.items()} | self.scope
            cumulative = 0
            for bound, count in zip(self.bounds, series.counts, strict=False):
                cumulative += count
                family.add_sample(f"{self.name}_bucket", {**labels, "le": str(bound)}, float(cumulative))
            family.add_sample(f"{self.name}_bucket", {**labels, "le": "+Inf"}, float(series.count))
            family.add_sample(f"{self.name}_count", labels, float(series.count))
            family.add_sample(f"{self.name}_sum", labels, series.sum)
        return family


class _Histograms:
    """The prometheus_client collector of this process's Histograms."""

    def __init__(self) -> None:
        self.histograms: list[Histogram] = []

    def collect(self) -> Iterator[Metric]:
        for histogram in self.histograms:
            family = histogram.family()
            if family is not None:
                yield family


_histograms = _Histograms()


def histogram(name: str, unit: str, description: str, scope: str, bounds: list[float]) -> Histogram:
    made = Histogram(name, unit, description, scope, bounds)
    _histograms.histograms.append(made)
    return made


def http_metrics_middleware() -> Any:
    """http.server.request.duration and http.server.active_requests with the attributes of
    the OpenTelemetry aiohttp-server instrumentation (stable HTTP conventions), without its
    server span: nothing exports traces here, and the span, its context extraction and
    attribute collection cost a tenth of a request. Attribute sets are built once each."""
    from aiohttp import web

    meter = metrics.get_meter("billing.http")
    durations = histogram(
        "http.server.request.duration", "s", "Duration of HTTP server requests.", "billing.http", LATENCY_BUCKETS
    )
    active = Tally(meter, "http.server.active_requests", "{request}", "Number of active HTTP server requests.")
    patterns = os.environ.get("OTEL_PYTHON_AIOHTTP_SERVER_EXCLUDED_URLS", DEFAULT_EXCLUDED)
    excluded = re.compile("|".join(f"(?:{p.strip()})" for p in patterns.split(",") if p.strip()) or "(?!)")
    attribute_sets: dict[tuple[Any, ...], dict[str, Any]] = {}
    versions: dict[Any, str] = {}

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

    def duration_attributes(key: tuple[Any, ...]) -> dict[str, Any]:  # (method, scheme, route, version, status)
        return attributes(*key)

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
            version = versions.get(request.version)
            if version is None:
                version = versions[request.version] = f"{request.version.major}.{request.version.minor}"
            series = durations.series((method, scheme, route, version, status), duration_attributes)
            series.record(max(time.perf_counter() - started, 0))
            active.add(-1, counting_key, counting)

    return middleware


def instrument_database(system: str = "postgresql") -> None:
    """Statement durations and pool usage for every engine of this process, from SQLAlchemy's
    events (class-level listeners: engines made later are covered too), and for every
    driver pool (shared.db.driver_pool). SQLAlchemy's listeners are installed when it is
    loaded (instrument_sqlalchemy): a driver-only process never imports it."""
    global _sqlalchemy_events
    meter = metrics.get_meter("billing.db")
    durations = histogram(
        "db.client.operation.duration", "s", "Duration of database client operations", "billing.db", LATENCY_BUCKETS
    )
    usage = Tally(
        meter,
        "db.client.connections.usage",
        "connections",
        "The number of connections that are currently in state described by the state attribute.",
    )
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
        observe(word, time.perf_counter() - started)

    def operation(word: str) -> dict[str, Any]:  # keyed by the first word of a statement
        return {"db.system.name": system, "db.operation.name": word}

    def observe(word: str, seconds: float) -> None:  # also for statements sent on the driver directly
        durations.series(word, operation).record(seconds)

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
            # (http.server.request.duration and db.client.operation.duration: Histogram above)
            View(
                instrument_name="billing.renewal.duration", aggregation=ExplicitBucketHistogramAggregation(RUN_BUCKETS)
            ),
        ]
        metrics.set_meter_provider(
            MeterProvider(resource=resource, metric_readers=[PrometheusMetricReader()], views=views)
        )
        REGISTRY.register(_histograms)
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
