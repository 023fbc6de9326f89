from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.tax_rates import TaxRate
from shared.services import tax_rates


@operation("GET", "/v1/tax_rates/{id}", family="tax-rates", summary="Retrieve a tax rate", response=TaxRate)
async def get_tax_rate(call: Call):
    return await tax_rates.get_tax_rate(call.uow(), call.tenant_id, call.path("id"))
