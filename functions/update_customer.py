from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.customers import Customer, CustomerUpdate
from shared.services import customers


@operation(
    "PATCH",
    "/v1/customers/{id}",
    family="customers",
    summary="Update a customer",
    body=CustomerUpdate,
    response=Customer,
)
async def update_customer(call: Call):
    body: CustomerUpdate = call.body
    return await customers.update_customer(
        call.uow(),
        call.tenant_id,
        call.path("id"),
        call.clock,
        email=body.email,
        name=body.name,
        metadata=body.metadata,
        external_id=body.external_id,
        tax_exempt=body.tax_exempt,
        default_tax_rates=body.default_tax_rates,
    )
