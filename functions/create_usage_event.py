from datetime import timedelta

from shared.domain.errors import Conflict, Invalid
from shared.domain.usage import Status
from shared.runtime.app_state import SETTINGS
from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.usage import UsageEventIn, UsageResult
from shared.services import usage
from shared.services.usage import EventIn


@operation(
    "POST",
    "/v1/usage_events",
    family="usage",
    summary="Record one usage event (idempotent by its id: a resend is a duplicate, stored once)",
    body=UsageEventIn,
    response=UsageResult,
    status=201,
)
async def create_usage_event(call: Call):
    body: UsageEventIn = call.body
    settings = call.request.app[SETTINGS]
    event = EventIn(body.id, body.customer, body.meter, body.timestamp, body.properties)
    [result] = await usage.ingest(
        call.uow(),
        call.tenant_id,
        call.clock,
        [event],
        max_future=timedelta(seconds=settings.usage_max_future_seconds),
        tenant_known=True,
    )
    if result.status is Status.REJECTED:
        raise Invalid(f"usage event rejected: {result.reason}", field="event")
    if result.status is Status.CONFLICT:
        raise Conflict(f"usage event '{result.id}': {result.reason}", field="id")
    return UsageResult(id=result.id, status=result.status.value)
