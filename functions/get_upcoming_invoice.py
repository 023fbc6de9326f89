from dataclasses import asdict

from shared.domain.taxes import tax_note
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
    totals = draft.totals
    return UpcomingInvoice(
        customer_id=draft.customer_id,
        subscription_id=draft.subscription_id,
        currency=draft.currency,
        period_start=draft.period.start,
        period_end=draft.period.end,
        subtotal=totals.subtotal,
        total_discount_amounts=[asdict(a) for a in totals.total_discount_amounts],
        total_excluding_tax=totals.total_excluding_tax,
        tax=totals.tax,
        total_tax_amounts=[asdict(a) for a in totals.total_tax_amounts],
        total=draft.total,
        customer_tax_exempt=draft.tax_exempt,
        tax_note=tax_note(draft.tax_exempt),
        starting_balance=totals.starting_balance,
        ending_balance=totals.ending_balance,
        amount_due=draft.amount_due,
        lines=[
            LineDetail(
                description=line.description,
                amount=line.amount,
                period_start=line.period_start,
                period_end=line.period_end,
                plan_id=line.plan_id,
                proration=line.proration,
                discount_amounts=[asdict(a) for a in line_totals.discount_amounts],
                tax_amounts=[asdict(a) for a in line_totals.tax_amounts],
            )
            for line, line_totals in zip(draft.lines, totals.lines)
        ],
    )
