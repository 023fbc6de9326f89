from shared.db import hot_reads
from shared.runtime.call import Call, Rendered
from shared.runtime.registry import operation
from shared.schemas.common import ListOf
from shared.schemas.invoices import Invoice, InvoiceListQuery


@operation(
    "GET",
    "/v1/invoices",
    family="invoices",
    summary="List invoices, newest first",
    query=InvoiceListQuery,
    response=ListOf[Invoice],
    driver_only=True,
)
async def list_invoices(call: Call):
    query: InvoiceListQuery = call.query
    page = await hot_reads.page(
        call.reads,
        "invoices",
        call.tenant_id,
        limit=query.limit,
        starting_after=query.starting_after,
        customer_id=query.customer_id,
        subscription_id=query.subscription_id,
        status=query.status,
    )
    return Rendered(page)
