from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.customers import Customer, CustomerCreate
from shared.services import customers


@operation(
    "POST",
    "/v1/customers",
    family="customers",
    summary="Create a customer",
    body=CustomerCreate,
    response=Customer,
    status=201,
)
async def create_customer(call: Call):
    body: CustomerCreate = call.body
    return await customers.create_customer(
        call.uow(),
        call.tenant_id,
        call.clock,
        email=body.email,
        name=body.name,
        metadata=body.metadata,
        test_clock_id=body.test_clock,
        external_id=body.external_id,
        tax_exempt=body.tax_exempt,
        default_tax_rates=body.default_tax_rates,
    )
