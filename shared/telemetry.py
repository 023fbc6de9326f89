"""OpenTelemetry metrics, exported in Prometheus format at /metrics on the function's port.

Set up once per process, before the aiohttp Application is created (the aiohttp-server
instrumentation hooks Application creation). HTTP server metrics use the stable semantic
conventions. Database metrics (db.client.operation.duration, db.client.connections.usage)
are recorded straight from SQLAlchemy's engine and pool events: no span per statement
(nothing exports traces here; spans, their attributes and the processor cost about a
sixth of a request's CPU).
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import SpanKind
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool

from shared.db import hot_reads
from shared.settings import Settings

_lock = threading.Lock()
_configured = False

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


class DatabaseSpansOnly(Sampler):
    """Record client (database) spans for their durations; drop the rest at birth. Nothing
    exports traces here, so recording server spans would be pure overhead (it halved
    throughput in bench.http_overhead)."""

    def should_sample(self, parent_context, trace_id, name, kind=None, attributes=None, links=None, trace_state=None):
        decision = Decision.RECORD_ONLY if kind is SpanKind.CLIENT else Decision.DROP
        return SamplingResult(decision, attributes if decision is Decision.RECORD_ONLY else None)

    def get_description(self) -> str:
        return "DatabaseSpansOnly"


def instrument_database(system: str = "postgresql") -> None:
    """Statement durations and pool usage for every engine of this process, from SQLAlchemy's
    events (class-level listeners: engines made later are covered too)."""
    meter = metrics.get_meter("billing.db")
    durations = meter.create_histogram(
        "db.client.operation.duration", unit="s", description="Duration of database client operations"
    )
    usage = meter.create_up_down_counter(
        "db.client.connections.usage",
        unit="connections",
        description="The number of connections that are currently in state described by the state attribute.",
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
    event.listen(Engine, "before_cursor_execute", before)
    event.listen(Engine, "after_cursor_execute", after)
    event.listen(Pool, "connect", lambda *_: usage.add(1, idle))
    event.listen(Pool, "close", lambda *_: usage.add(-1, idle))
    event.listen(Pool, "checkout", lambda *_: (usage.add(-1, idle), usage.add(1, used)))
    event.listen(Pool, "checkin", lambda *_: (usage.add(-1, used), usage.add(1, idle)))


def setup(settings: Settings, version: str) -> bool:
    """Install the meter and tracer providers and the instrumentations, once per process.
    Returns False when telemetry is turned off (BILLING_TELEMETRY=off)."""
    global _configured
    if not settings.telemetry:
        return False
    with _lock:
        if _configured:
            return True
        os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "http")
        # Probes and scrapes are not traffic. Patterns are searched in the URL.
        os.environ.setdefault("OTEL_PYTHON_AIOHTTP_SERVER_EXCLUDED_URLS", r"/metrics$,/health$,/ready$,/docs")
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
        tracer_provider = TracerProvider(resource=resource, sampler=DatabaseSpansOnly())
        trace.set_tracer_provider(tracer_provider)

        from opentelemetry.instrumentation.aiohttp_server import AioHttpServerInstrumentor

        AioHttpServerInstrumentor().instrument()
        instrument_database()
        _configured = True
        return True


def exposition() -> tuple[bytes, str]:
    """The Prometheus text exposition of every metric in this process."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
