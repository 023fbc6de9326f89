from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.meters import Meter
from shared.services import meters


@operation(
    "POST",
    "/v1/meters/{id}/archive",
    family="meters",
    summary="Archive a meter: no new events; usage already recorded is still billed",
    response=Meter,
)
async def archive_meter(call: Call):
    return await meters.archive_meter(call.uow(), call.tenant_id, call.path("id"), call.clock)
