"""Metrics at /metrics (OpenTelemetry -> Prometheus), the Grafana dashboard, request logs."""

import json
import logging
import re
from datetime import timedelta
from pathlib import Path

from shared.clock import FrozenClock
from shared.logs import JsonFormatter
from tests.client import Api
from tests.conftest import BOOTSTRAP_KEY, START

DASHBOARD = Path(__file__).resolve().parents[2] / "observability" / "grafana" / "dashboards" / "billing.json"
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and", "or", "unless"}
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\})?\s+(\S+)$')


async def scrape(api: Api) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Sample name -> [(labels, value)] from the Prometheus text exposition."""
    async with api.client.get("/metrics") as reply:
        assert reply.status == 200
        assert reply.headers["Content-Type"].startswith("text/plain")
        text = await reply.text()
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if match and not line.startswith("#"):
            labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
            samples.setdefault(match.group(1), []).append((labels, float(match.group(3))))
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return sum(v for found, v in samples.get(name, []) if all(found.get(k) == w for k, w in labels.items()))


def dashboard_metric_names() -> set[str]:
    names = set()
    document = json.loads(DASHBOARD.read_text())
    for panel in document["panels"]:
        for target in panel["targets"]:
            expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", target["expr"])
            expr = re.sub(r"\b(by|without)\s*\([^)]*\)", "", expr)
            names |= {t for t in re.findall(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b(?!\s*\()", expr) if t not in PROMQL_WORDS}
    return names


async def drive_traffic(api: Api, clock: FrozenClock) -> dict:
    customer = await api.customer()
    await api.get(f"/v1/customers/{customer['id']}")
    await api.post("/v1/customers", {"email": "bad"})  # 422
    await api.get("/v1/customers/cus_missing")  # 404
    plan = await api.plan()
    subscription = await api.subscribe(customer, plan)
    [invoice] = await api.invoices()
    for _ in range(2):  # the second is an idempotent replay
        await api.post(f"/v1/invoices/{invoice['id']}/pay", headers={"Idempotency-Key": f"pay-{invoice['id']}"})
    second = await api.subscribe(
        await api.customer(email="b@example.com"), await api.plan(code="eur", currency="EUR", amount=500)
    )
    [eur] = await api.invoices(subscription_id=second["id"])
    await api.post(f"/v1/invoices/{eur['id']}/void")
    await api.post(f"/v1/subscriptions/{second['id']}/pause")
    await api.get("/health")
    await api.get("/ready")
    clock.set(START + timedelta(days=40))
    assert (await api.post("/v1/renewals")).status == 200
    return subscription


async def test_http_metrics_use_route_templates_and_skip_probes(api: Api, clock: FrozenClock) -> None:
    await drive_traffic(api, clock)
    samples = await scrape(api)
    durations = samples["http_server_request_duration_seconds_count"]
    routes = {labels.get("http_route") for labels, _ in durations}
    assert "/v1/customers/{id}" in routes
    assert not any("cus_" in (route or "") for route in routes)  # never raw ids
    assert not routes & {"/health", "/ready", "/metrics"}
    assert (
        value(
            samples,
            "http_server_request_duration_seconds_count",
            http_route="/v1/customers/{id}",
            http_request_method="GET",
            http_response_status_code="200",
        )
        >= 1
    )
    assert (
        value(
            samples,
            "http_server_request_duration_seconds_count",
            http_route="/v1/customers",
            http_request_method="POST",
            http_response_status_code="422",
        )
        >= 1
    )
    assert "http_server_request_duration_seconds_bucket" in samples
    [(target, _)] = samples["target_info"]
    assert target["service_name"] and target["service_version"]


async def test_business_and_database_metrics_move_with_the_work(api: Api, clock: FrozenClock) -> None:
    before = await scrape(api)
    await drive_traffic(api, clock)
    after = await scrape(api)

    def grew(name: str, by: float = 1, **labels: str) -> bool:
        return value(after, name, **labels) - value(before, name, **labels) >= by

    assert grew("billing_invoices_created_total", 1, currency="USD", reason="subscription_create")
    assert grew("billing_invoices_created_total", 1, currency="USD", reason="renewal")
    assert grew("billing_invoices_amount_total", 1999 * 2, currency="USD")
    assert grew("billing_invoices_paid_total", 1, currency="USD")
    assert grew("billing_invoices_voided_total", 1, currency="EUR")
    assert grew("billing_subscriptions_transitions_total", 1, status="paused")
    assert grew("billing_requests_rejected_total", 1, reason="validation-error")
    assert grew("billing_requests_rejected_total", 1, reason="not-found")
    assert grew("billing_idempotent_replays_total", 1)
    assert grew("billing_renewal_duration_seconds_count", 1)
    assert grew("billing_renewal_subscriptions_renewed_total", 1)
    assert "billing_renewal_lag_seconds" in after
    assert grew("db_client_operation_duration_seconds_count", 5, db_operation_name="SELECT")
    assert "db_client_connections_usage_connections" in after


async def test_every_dashboard_query_names_an_exported_metric(api: Api, clock: FrozenClock) -> None:
    document = json.loads(DASHBOARD.read_text())
    assert {"datasource"} <= {v["name"] for v in document["templating"]["list"]}
    assert all(t["datasource"]["uid"] == "${datasource}" for p in document["panels"] for t in p["targets"])
    await drive_traffic(api, clock)
    exported = set(await scrape(api))
    used = dashboard_metric_names()
    assert {
        "http_server_request_duration_seconds_bucket",
        "billing_invoices_created_total",
        "db_client_operation_duration_seconds_bucket",
    } <= used
    assert used - exported == set()


async def test_one_json_log_line_per_request_without_secrets(api: Api, caplog) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level(logging.INFO, logger="billing.access"):
        customer = await api.customer()
        await api.call("GET", f"/v1/customers/{customer['id']}", headers={"X-Request-Id": "trace-me"})
        await api.get("/health")
    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "billing.access"]
    assert [line["route"] for line in lines] == ["/v1/customers", "/v1/customers/{id}"]  # probes are not logged
    traced = lines[1]
    assert (traced["method"], traced["status"], traced["request_id"]) == ("GET", 200, "trace-me")
    assert traced["tenant_id"].startswith("ten_") and traced["duration_ms"] >= 0
    text = "\n".join(json.dumps(line) for line in lines)
    assert BOOTSTRAP_KEY not in text and customer["email"] not in text


async def test_up_down_counters_report_what_is_in_use_now(api: Api, clock: FrozenClock) -> None:
    """http.server.active_requests and db.client.connections.usage are kept as plain counts
    and reported at collection (shared.telemetry.Tally): same series, current values."""
    await drive_traffic(api, clock)
    samples = await scrape(api)
    active = samples["http_server_active_requests"]
    assert {labels["http_request_method"] for labels, _ in active} >= {"GET", "POST"}, active
    assert all(v == 0 and labels["url_scheme"] == "http" for labels, v in active), active  # all answered
    # (Process-wide counts, summed over every pool this test process made: only the series.)
    usage = samples["db_client_connections_usage_connections"]
    assert {labels["state"] for labels, _ in usage} == {"idle", "used"}, usage
    assert all(labels["db_system_name"] == "postgresql" for labels, _ in usage), usage
