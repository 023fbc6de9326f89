from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.customers import Customer
from shared.services import customers


@operation("GET", "/v1/customers/{id}", family="customers", summary="Retrieve a customer", response=Customer)
async def get_customer(call: Call):
    return await customers.get_customer(call.uow(), call.tenant_id, call.path("id"))
