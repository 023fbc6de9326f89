from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.credit_notes import CreditNoteCreate, CreditNotePreview
from shared.services import credit_notes


@operation(
    "POST",
    "/v1/credit_notes/preview",
    family="credit-notes",
    summary="Preview a credit note: what POST /v1/credit_notes would issue now (nothing is written)",
    body=CreditNoteCreate,
    response=CreditNotePreview,
)
async def preview_credit_note(call: Call):
    body: CreditNoteCreate = call.body
    preview = await credit_notes.preview_credit_note(
        call.uow(), call.tenant_id, body.invoice, body.request(), reason=body.reason, memo=body.memo
    )
    draft, invoice = preview.draft, preview.invoice
    return {
        "invoice": invoice.id,
        "customer": invoice.customer_id,
        "currency": invoice.currency,
        "type": draft.type,
        "reason": preview.reason,
        "memo": preview.memo,
        "subtotal": draft.subtotal,
        "discount_amount": draft.discount_amount,
        "discount_amounts": [vars(d) for d in draft.discount_amounts],
        "tax": draft.tax,
        "tax_amounts": [vars(t) for t in draft.tax_amounts],
        "total_excluding_tax": draft.total - draft.tax,
        "total": draft.total,
        "amount": draft.total,
        "pre_payment_amount": draft.pre_payment_amount,
        "post_payment_amount": draft.post_payment_amount,
        "credit_amount": draft.credit_amount,
        "refund_amount": draft.refund_amount,
        "out_of_band_amount": draft.out_of_band_amount,
        "lines": [
            {
                "invoice_line_item": line.invoice_line,
                "description": line.description,
                "amount": line.amount,
                "discount_amount": line.discount_amount,
                "discount_amounts": [vars(d) for d in line.discount_amounts],
                "tax_amounts": [vars(t) for t in line.tax_amounts],
            }
            for line in draft.lines
        ],
    }
