from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.test_clocks import TestClock, TestClockCreate
from shared.services import test_clocks


@operation(
    "POST",
    "/v1/test_clocks",
    family="test-clocks",
    summary="Create a test clock frozen at a time",
    body=TestClockCreate,
    response=TestClock,
    status=201,
)
async def create_test_clock(call: Call):
    body: TestClockCreate = call.body
    return await test_clocks.create_test_clock(
        call.uow(), call.tenant_id, call.clock, frozen_time=body.frozen_time, name=body.name
    )
