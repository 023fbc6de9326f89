from datetime import timedelta

from pydantic import ValidationError

from shared.domain.errors import Invalid, NotFound
from shared.domain.usage import Status
from shared.runtime.app_state import SETTINGS
from shared.runtime.call import Call
from shared.runtime.cloudevents import event_time
from shared.runtime.registry import operation
from shared.schemas.usage import UsageCloudEventData, UsageResult
from shared.services import usage
from shared.services.usage import EventIn

MAX_ID = 255  # as a usage event id anywhere
TENANT_ATTRIBUTE = "billingtenant"  # CloudEvents extension attribute: whose usage this is


@operation(
    "POST",
    "/cloudevents/usage",
    family="usage-ingest",
    signature="cloudevent",
    auth=False,
    public=False,
    summary="CloudEvent sink (e.g. a Knative Broker Trigger) for usage events: ce-id is the idempotency key, "
    "the extension attribute billingtenant names the tenant, data is {customer, meter, properties}",
    response=UsageResult,
)
async def ingest_usage(call: Call):
    event = call.body
    settings = call.request.app[SETTINGS]
    tenant_id = str(event.get(TENANT_ATTRIBUTE) or "")
    if not tenant_id:
        raise Invalid(f"CloudEvent attribute '{TENANT_ATTRIBUTE}' (the tenant id) is required", field=TENANT_ATTRIBUTE)
    if "\x00" in tenant_id:
        raise Invalid(f"no such tenant: '{tenant_id[:64]}'", field=TENANT_ATTRIBUTE)
    event_id = str(event["id"])
    if len(event_id) > MAX_ID or "\x00" in event_id:  # the id of a usage event (the batch's rule)
        raise Invalid(f"CloudEvent id: at most {MAX_ID} characters, no NUL (U+0000)", field="id")
    try:
        data = UsageCloudEventData.model_validate(event.get_data() if isinstance(event.get_data(), dict) else {})
    except ValidationError as error:
        first = error.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "data"
        raise Invalid(f"CloudEvent data: {where}: {first['msg']}", field="data") from None
    moment = event_time(event) or call.clock.now()
    one = EventIn(event_id, data.customer, data.meter, moment, data.properties)
    try:
        [result] = await usage.ingest(
            call.uow(), tenant_id, call.clock, [one], max_future=timedelta(seconds=settings.usage_max_future_seconds)
        )
    except NotFound:
        raise Invalid(f"no such tenant: '{tenant_id[:64]}'", field=TENANT_ATTRIBUTE) from None
    # A delivery that cannot succeed is answered 422, which a Broker does not retry (it goes
    # to the dead-letter sink); accepted and duplicate are 200.
    if result.status in (Status.REJECTED, Status.CONFLICT):
        raise Invalid(f"usage event {result.status.value}: {result.reason}", field="data")
    return UsageResult(id=result.id, status=result.status.value)
