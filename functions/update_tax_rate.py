from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.tax_rates import TaxRate, TaxRateUpdate
from shared.services import tax_rates


@operation(
    "PATCH",
    "/v1/tax_rates/{id}",
    family="tax-rates",
    summary="Update a tax rate's display fields or archive it (active: false)",
    body=TaxRateUpdate,
    response=TaxRate,
)
async def update_tax_rate(call: Call):
    body: TaxRateUpdate = call.body
    return await tax_rates.update_tax_rate(call.uow(), call.tenant_id, call.path("id"), call.clock, **body.model_dump())
