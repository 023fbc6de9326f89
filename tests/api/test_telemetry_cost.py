"""What telemetry costs a request: the request and statement durations are recorded through
series prebuilt per attribute set (shared.telemetry.Histogram), not through the SDK's
per-measurement path; the exported series are the same (tests/api/test_observability.py)."""

from __future__ import annotations

from opentelemetry.sdk.metrics._internal.instrument import Histogram as SdkHistogram

from tests.api.test_observability import scrape, value
from tests.client import Api


async def test_a_read_records_its_durations_without_the_sdk_measurement_path(api: Api, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    ada = await api.customer()
    await api.subscribe(ada, await api.plan())
    [invoice] = await api.invoices()
    path = f"/v1/invoices/{invoice['id']}"
    before = await scrape(api)
    recorded: list[str] = []
    original = SdkHistogram.record

    def spy(self, amount, attributes=None, context=None):  # type: ignore[no-untyped-def]
        recorded.append(self.name)
        return original(self, amount, attributes, context)

    monkeypatch.setattr(SdkHistogram, "record", spy)
    for _ in range(5):
        assert (await api.get(path)).status == 200
    monkeypatch.undo()
    after = await scrape(api)
    route = {"http_route": "/v1/invoices/{id}", "http_request_method": "GET", "http_response_status_code": "200"}
    count = "http_server_request_duration_seconds_count"
    assert value(after, count, **route) - value(before, count, **route) == 5
    statements = "db_client_operation_duration_seconds_count"
    assert (
        value(after, statements, db_operation_name="SELECT") - value(before, statements, db_operation_name="SELECT")
        >= 5
    )
    assert recorded == []
