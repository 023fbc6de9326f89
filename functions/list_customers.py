from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.common import ListOf, ListQuery
from shared.schemas.customers import Customer
from shared.services import customers


@operation(
    "GET",
    "/v1/customers",
    family="customers",
    summary="List customers, newest first",
    query=ListQuery,
    response=ListOf[Customer],
)
async def list_customers(call: Call):
    return await customers.list_customers(
        call.uow(), call.tenant_id, limit=call.query.limit, starting_after=call.query.starting_after
    )
