from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.balances import BalanceTransaction, BalanceTransactionCreate
from shared.services import customers


@operation(
    "POST",
    "/v1/customers/{id}/balance_transactions",
    family="customers",
    summary="Adjust a customer's balance (negative: credit applied to its next invoices)",
    body=BalanceTransactionCreate,
    response=BalanceTransaction,
    status=201,
)
async def create_balance_transaction(call: Call):
    body: BalanceTransactionCreate = call.body
    return await customers.adjust_balance(
        call.uow(),
        call.tenant_id,
        call.path("id"),
        call.clock,
        amount=body.amount,
        currency=body.currency,
        description=body.description,
    )
