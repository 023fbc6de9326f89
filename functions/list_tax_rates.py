from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.common import ListOf
from shared.schemas.tax_rates import TaxRate, TaxRateListQuery
from shared.services import tax_rates


@operation(
    "GET",
    "/v1/tax_rates",
    family="tax-rates",
    summary="List tax rates, newest first",
    query=TaxRateListQuery,
    response=ListOf[TaxRate],
)
async def list_tax_rates(call: Call):
    query: TaxRateListQuery = call.query
    return await tax_rates.list_tax_rates(
        call.uow(), call.tenant_id, limit=query.limit, starting_after=query.starting_after, active=query.active
    )
