from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.balances import BalanceTransaction
from shared.schemas.common import ListOf, ListQuery
from shared.services import customers


@operation(
    "GET",
    "/v1/customers/{id}/balance_transactions",
    family="customers",
    summary="List a customer's balance transactions (its ledger), newest first",
    query=ListQuery,
    response=ListOf[BalanceTransaction],
)
async def list_balance_transactions(call: Call):
    return await customers.list_balance_transactions(
        call.uow(), call.tenant_id, call.path("id"), limit=call.query.limit, starting_after=call.query.starting_after
    )
