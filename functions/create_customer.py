from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.customers import Customer, CustomerCreate
from shared.services import customers


@operation("POST", "/v1/customers", family="customers", summary="Create a customer",
           body=CustomerCreate, response=Customer, status=201)
async def create_customer(call: Call):
    return await customers.create_customer(call.uow(), call.tenant_id, call.body, call.clock)
