from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.test_clocks import TestClock
from shared.services import test_clocks


@operation("GET", "/v1/test_clocks/{id}", family="test-clocks", summary="Retrieve a test clock", response=TestClock)
async def get_test_clock(call: Call):
    return await test_clocks.get_test_clock(call.uow(), call.tenant_id, call.path("id"))
