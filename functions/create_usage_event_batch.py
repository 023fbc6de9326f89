from datetime import timedelta

from shared.runtime.app_state import SETTINGS
from shared.runtime.call import Call, Rendered
from shared.runtime.registry import operation
from shared.schemas.usage import UsageBatchIn, UsageBatchResult
from shared.services import usage
from shared.services.usage import EventIn

MAX_BATCH_BYTES = 4 * 1024 * 1024


@operation(
    "POST",
    "/v1/usage_events/batch",
    family="usage",
    summary="Record up to 1,000 usage events at once (stored all together or not at all); a result per event",
    body=UsageBatchIn,
    response=UsageBatchResult,
    max_body_bytes=MAX_BATCH_BYTES,
)
async def create_usage_event_batch(call: Call):
    body: UsageBatchIn = call.body
    settings = call.request.app[SETTINGS]
    events = [EventIn(e["id"], e["customer"], e["meter"], e["timestamp"], e.get("properties", {})) for e in body.events]
    results = await usage.ingest(
        call.uow(),
        call.tenant_id,
        call.clock,
        events,
        max_future=timedelta(seconds=settings.usage_max_future_seconds),
        tenant_known=True,
    )
    # UsageBatchResult's shape, rendered without a model instance per result.
    return Rendered(
        {
            "object": "usage_event_batch",
            "results": [{"id": r.id, "status": r.status, "reason": r.reason} for r in results],
        }
    )
