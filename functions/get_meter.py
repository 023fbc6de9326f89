from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.meters import Meter
from shared.services import meters


@operation("GET", "/v1/meters/{id}", family="meters", summary="Retrieve a meter", response=Meter)
async def get_meter(call: Call):
    return await meters.get_meter(call.uow(), call.tenant_id, call.path("id"))
