from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.tax_rates import TaxRate, TaxRateCreate
from shared.services import tax_rates


@operation(
    "POST",
    "/v1/tax_rates",
    family="tax-rates",
    summary="Create a tax rate (its percentage and inclusive flag never change)",
    body=TaxRateCreate,
    response=TaxRate,
    status=201,
)
async def create_tax_rate(call: Call):
    body: TaxRateCreate = call.body
    return await tax_rates.create_tax_rate(call.uow(), call.tenant_id, call.clock, **body.model_dump())
