from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.meters import Meter, MeterCreate
from shared.services import meters


@operation(
    "POST",
    "/v1/meters",
    family="meters",
    summary="Create a meter (its aggregation never changes)",
    body=MeterCreate,
    response=Meter,
    status=201,
)
async def create_meter(call: Call):
    body: MeterCreate = call.body
    return await meters.create_meter(
        call.uow(),
        call.tenant_id,
        call.clock,
        code=body.code,
        name=body.name,
        aggregation=body.aggregation,
        value_property=body.value_property,
        filters=body.filters,
    )
