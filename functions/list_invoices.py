from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.common import ListOf
from shared.schemas.invoices import Invoice, InvoiceListQuery
from shared.services import invoices


@operation(
    "GET",
    "/v1/invoices",
    family="invoices",
    summary="List invoices, newest first",
    query=InvoiceListQuery,
    response=ListOf[Invoice],
)
async def list_invoices(call: Call):
    query: InvoiceListQuery = call.query
    return await invoices.list_invoices(
        call.uow(),
        call.tenant_id,
        limit=query.limit,
        starting_after=query.starting_after,
        customer_id=query.customer_id,
        subscription_id=query.subscription_id,
        status=query.status,
    )
