"""OpenTelemetry metrics, exported in Prometheus format at /metrics on the function's port.

Set up once per process, before the aiohttp Application is created (the aiohttp-server
instrumentation hooks Application creation). HTTP server metrics use the stable semantic
conventions; database query durations come from the SQLAlchemy instrumentation's spans,
which no exporter receives: a span processor turns them into a histogram.
"""

from __future__ import annotations

import os
import threading

from opentelemetry import metrics, trace
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import SpanKind
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

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


class DatabaseSpanDurations(SpanProcessor):
    """Record the duration of every database client span as db.client.operation.duration."""

    def __init__(self) -> None:
        self._histogram = metrics.get_meter("billing.db").create_histogram(
            "db.client.operation.duration", unit="s", description="Duration of database client operations"
        )

    def on_end(self, span: ReadableSpan) -> None:
        attributes = span.attributes or {}
        system = attributes.get("db.system") or attributes.get("db.system.name")
        if span.kind is not SpanKind.CLIENT or system is None or span.end_time is None or span.start_time is None:
            return
        operation = (span.name or "").split(" ", 1)[0].upper() or "OTHER"
        self._histogram.record(
            (span.end_time - span.start_time) / 1e9,
            {"db.system.name": str(system), "db.operation.name": operation},
        )


class DatabaseSpansOnly(Sampler):
    """Record client (database) spans for their durations; drop the rest at birth. Nothing
    exports traces here, so recording server spans would be pure overhead (it halved
    throughput in bench.http_overhead)."""

    def should_sample(self, parent_context, trace_id, name, kind=None, attributes=None, links=None, trace_state=None):
        decision = Decision.RECORD_ONLY if kind is SpanKind.CLIENT else Decision.DROP
        return SamplingResult(decision, attributes if decision is Decision.RECORD_ONLY else None)

    def get_description(self) -> str:
        return "DatabaseSpansOnly"


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
        tracer_provider.add_span_processor(DatabaseSpanDurations())
        trace.set_tracer_provider(tracer_provider)

        from opentelemetry.instrumentation.aiohttp_server import AioHttpServerInstrumentor
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

        AioHttpServerInstrumentor().instrument()
        SQLAlchemyInstrumentor().instrument()
        _configured = True
        return True


def exposition() -> tuple[bytes, str]:
    """The Prometheus text exposition of every metric in this process."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
