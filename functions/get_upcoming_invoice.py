from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.invoices import LineDetail, UpcomingInvoice
from shared.services import subscriptions


@operation(
    "GET",
    "/v1/subscriptions/{id}/upcoming_invoice",
    family="subscriptions",
    summary="Preview the next renewal invoice (writes nothing)",
    response=UpcomingInvoice,
)
async def get_upcoming_invoice(call: Call):
    draft = await subscriptions.upcoming_invoice(call.uow(), call.tenant_id, call.path("id"))
    return UpcomingInvoice(
        customer_id=draft.customer_id,
        subscription_id=draft.subscription_id,
        currency=draft.currency,
        period_start=draft.period.start,
        period_end=draft.period.end,
        subtotal=draft.totals.subtotal,
        total=draft.total,
        starting_balance=draft.totals.starting_balance,
        ending_balance=draft.totals.ending_balance,
        amount_due=draft.amount_due,
        lines=[LineDetail.model_validate(line, from_attributes=True) for line in draft.lines],
    )
