from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.test_clocks import TestClock, TestClockAdvance
from shared.services import test_clocks


@operation("POST", "/v1/test_clocks/{id}/advance", family="test-clocks",
           summary="Move a test clock forward, billing its customers up to the new time",
           body=TestClockAdvance, response=TestClock)
async def advance_test_clock(call: Call):
    return await test_clocks.advance_test_clock(call.uow(), call.engine, call.tenant_id, call.path("id"), call.body)
