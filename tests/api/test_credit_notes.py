"""Credit notes: a partial credit note on a paid invoice split into refund and credit (the
credit consumed by the next renewal); a credit note on an open invoice with 19% exclusive VAT
and a 20% coupon reducing amount_due; over-credit refused, also under concurrency; void.
Exact amounts in USD (2 decimals), JPY (0) and KWD (3)."""

import asyncio

import pytest

from tests.client import Api


async def _events(api: Api, object_id: str) -> list[str]:
    reply = await api.get("/v1/events", limit=100)
    assert reply.status == 200, reply
    return [e["type"] for e in reversed(reply["data"]) if e["data"]["object"]["id"] == object_id]


async def _balance(api: Api, customer: dict) -> dict:
    return (await api.get(f"/v1/customers/{customer['id']}"))["balances"]


@pytest.mark.parametrize(
    ("currency", "price", "credited", "refund", "credit"),
    [
        ("USD", 2999, 1000, 499, 501),  # 29.99 paid; 10.00 credited: 4.99 refunded, 5.01 to the balance
        ("JPY", 2999, 1000, 499, 501),  # ¥2999; ¥1000: ¥499 refunded, ¥501 credited
        ("KWD", 29999, 10000, 4999, 5001),  # 29.999; 10.000: 4.999 refunded, 5.001 credited
    ],
)
async def test_a_partial_credit_note_on_a_paid_invoice_split_into_refund_and_credit(
    api: Api, currency: str, price: int, credited: int, refund: int, credit: int
) -> None:
    clock = await api.test_clock("2026-04-01T00:00:00Z")
    customer = await api.customer(test_clock=clock["id"])
    plan = await api.plan(code="pro", amount=price, currency=currency)
    subscription = await api.subscribe(customer, plan)
    [invoice] = await api.invoices(subscription_id=subscription["id"])
    assert (await api.post(f"/v1/invoices/{invoice['id']}/pay")).status == 200
    line = invoice["lines"][0]["id"]

    # The split must add up to the credited total: refused, nothing written.
    body = {"invoice": invoice["id"], "lines": [{"invoice_line": line, "amount": credited}], "reason": "order_change"}
    wrong = await api.post("/v1/credit_notes", {**body, "refund_amount": refund, "credit_amount": credit + 1})
    assert wrong.status == 422 and wrong.headers["Content-Type"].startswith("application/problem+json"), wrong
    too_much = await api.post("/v1/credit_notes", {**body, "refund_amount": price + 1, "credit_amount": 0})
    assert too_much.status == 422  # the split is not the total either

    split = {**body, "refund_amount": refund, "credit_amount": credit, "memo": "Two seats were never used"}
    preview = await api.post("/v1/credit_notes/preview", split)
    assert preview.status == 200, preview
    created = await api.post("/v1/credit_notes", split)
    assert created.status == 201, created
    note = created.body
    assert note["number"] == "CN-000001" and note["livemode"] is False
    want = {
        "object": "credit_note",
        "status": "issued",
        "type": "post_payment",
        "invoice": invoice["id"],
        "customer": customer["id"],
        "currency": currency,
        "reason": "order_change",
        "memo": "Two seats were never used",
        "subtotal": credited,
        "total": credited,
        "amount": credited,
        "pre_payment_amount": 0,
        "post_payment_amount": credited,
        "credit_amount": credit,
        "refund_amount": refund,
        "out_of_band_amount": 0,
    }
    assert {k: note[k] for k in want} == want
    assert preview["object"] == "credit_note_preview"
    assert {k: preview[k] for k in want if k != "object" and k != "status"} == {
        k: v for k, v in want.items() if k != "object" and k != "status"
    }
    assert [(x["invoice_line_item"], x["amount"]) for x in note["lines"]] == [(line, credited)]
    assert (await api.get(f"/v1/credit_notes/{note['id']}")).body == note

    after = await api.get(f"/v1/invoices/{invoice['id']}")
    assert (after["status"], after["amount_due"], after["amount_paid"]) == ("paid", price, price)
    assert (after["pre_payment_credit_notes_amount"], after["post_payment_credit_notes_amount"]) == (0, credited)
    assert await _balance(api, customer) == {currency: -credit}
    ledger = (await api.get(f"/v1/customers/{customer['id']}/balance_transactions"))["data"]
    assert [(t["type"], t["amount"], t["credit_note"]) for t in ledger] == [("credit_note", -credit, note["id"])]
    assert await _events(api, note["id"]) == ["credit_note.created"]
    assert (await _events(api, invoice["id"]))[-1] == "invoice.updated"

    # More than was paid cannot be refunded; more than was invoiced cannot be credited.
    over_refund = await api.post("/v1/credit_notes", {**body, "amount": None} | {"amount": 1, "refund_amount": 1})
    assert over_refund.status == 422  # lines and amount together
    left = price - credited
    over = await api.post("/v1/credit_notes", {"invoice": invoice["id"], "amount": left + 1})
    assert over.status == 409, over
    refund_more = await api.post(
        "/v1/credit_notes", {"invoice": invoice["id"], "amount": left, "refund_amount": price - refund + 1}
    )
    assert refund_more.status in (409, 422), refund_more

    # The next renewal consumes the credit: 29.99 - 5.01 = 24.98 due.
    await api.advance(clock, "2026-05-01T00:00:01Z")
    renewed = [i for i in await api.invoices(subscription_id=subscription["id"]) if i["id"] != invoice["id"]]
    assert [(i["total"], i["starting_balance"], i["ending_balance"], i["amount_due"]) for i in renewed] == [
        (price, -credit, 0, price - credit)
    ]
    assert await _balance(api, customer) == {currency: 0}

    # A refunded credit note cannot be voided (the money went back); a credit-only one can,
    # while the balance still holds its credit: a new ledger row takes it back.
    assert (await api.post(f"/v1/credit_notes/{note['id']}/void")).status == 409
    second = await api.post("/v1/credit_notes", {"invoice": invoice["id"], "amount": 100, "reason": "duplicate"})
    assert second.status == 201 and second["number"] == "CN-000002" and second["credit_amount"] == 100, second
    voided = await api.post(f"/v1/credit_notes/{second['id']}/void")
    assert voided.status == 200 and voided["status"] == "void" and voided["voided_at"] is not None, voided
    assert (await api.post(f"/v1/credit_notes/{second['id']}/void")).status == 409  # void already
    assert await _balance(api, customer) == {currency: 0}
    ledger = (await api.get(f"/v1/customers/{customer['id']}/balance_transactions", limit=100))["data"]
    assert [(t["type"], t["amount"]) for t in ledger if t["credit_note"] == second["id"]] == [
        ("credit_note", 100),
        ("credit_note", -100),
    ]
    assert await _events(api, second["id"]) == ["credit_note.created", "credit_note.voided"]
    # Every ledger row a credit note wrote (its credit, its void's reversal) is announced.
    announced = (await api.get("/v1/events", type="customer.balance_transaction.created", limit=100))["data"]
    rows = [e["data"]["object"] for e in announced]
    assert {r["credit_note"] for r in rows} == {None, note["id"], second["id"]}  # None: the renewal's
    assert sorted((r["credit_note"], r["amount"]) for r in rows if r["credit_note"]) == sorted(
        [(note["id"], -credit), (second["id"], -100), (second["id"], 100)]
    )
    final = await api.get(f"/v1/invoices/{invoice['id']}")
    assert final["post_payment_credit_notes_amount"] == credited
    listed = await api.get("/v1/credit_notes", invoice=invoice["id"])
    assert [n["number"] for n in listed["data"]] == ["CN-000002", "CN-000001"]
    by_customer = await api.get("/v1/credit_notes", customer=customer["id"], limit=1)
    assert [n["id"] for n in by_customer["data"]] == [second["id"]] and by_customer["has_more"]
    page_two = await api.get("/v1/credit_notes", customer=customer["id"], starting_after=second["id"])
    assert [n["id"] for n in page_two["data"]] == [note["id"]]
    # Simulated credit notes go with their test clock's simulation.
    assert (await api.call("DELETE", f"/v1/test_clocks/{clock['id']}")).status == 200
    assert (await api.get(f"/v1/credit_notes/{note['id']}")).status == 404


@pytest.mark.parametrize(
    ("currency", "price", "discount", "vat", "half", "half_off", "half_vat"),
    [
        # 100.00 - 20% (20.00) = 80.00, + 19% VAT 15.20 = 95.20. Crediting 50.00 of the line
        # reverses 10.00 of the discount and 7.60 of the VAT: 47.60 less due.
        ("USD", 10000, 2000, 1520, 5000, 1000, 760),
        # ¥999 - ¥200 (199.8) = ¥799, + ¥152 (151.81) = ¥951. ¥500 of it reverses
        # 200 * 500/999 = 100.1 -> ¥100 and 152 * 500/999 = 76.08 -> ¥76: ¥476 less due.
        ("JPY", 999, 200, 152, 500, 100, 76),
        # 19.999 - 4.000 = 15.999, + 3.040 (3.03981) = 19.039. 10.000 of it reverses
        # 4.000 * 10/19.999 = 2.0001 -> 2.000 and 3.040 * 10/19.999 = 1.52008 -> 1.520.
        ("KWD", 19999, 4000, 3040, 10000, 2000, 1520),
    ],
)
async def test_a_credit_note_on_an_open_invoice_with_vat_and_a_coupon_reduces_amount_due(
    api: Api, currency: str, price: int, discount: int, vat: int, half: int, half_off: int, half_vat: int
) -> None:
    rate = await api.post("/v1/tax_rates", {"display_name": "VAT", "percentage": 19, "inclusive": False})
    coupon = await api.post("/v1/coupons", {"percent_off": 20, "duration": "forever"})
    assert rate.status == 201 and coupon.status == 201
    await api.settings(default_tax_rates=[rate["id"]])
    customer = await api.customer()
    plan = await api.plan(code="pro", amount=price, currency=currency)
    subscription = await api.subscribe(customer, plan, coupon=coupon["id"])
    [invoice] = await api.invoices(subscription_id=subscription["id"])
    total = price - discount + vat
    assert (invoice["status"], invoice["total"], invoice["amount_due"], invoice["tax"]) == ("open", total, total, vat)
    line = invoice["lines"][0]["id"]

    body = {"invoice": invoice["id"], "lines": [{"invoice_line": line, "amount": half}]}
    preview = await api.post("/v1/credit_notes/preview", body)
    assert preview.status == 200, preview
    first = await api.post("/v1/credit_notes", {**body, "reason": "product_unsatisfactory"})
    assert first.status == 201, first
    credited = half - half_off + half_vat
    amounts = ("subtotal", "discount_amount", "tax", "total", "pre_payment_amount", "credit_amount", "type")
    assert [first[k] for k in amounts] == [half, half_off, half_vat, credited, credited, 0, "pre_payment"]
    assert [preview[k] for k in amounts] == [first[k] for k in amounts]
    assert [(t["tax_rate"], t["amount"], t["inclusive"]) for t in first["tax_amounts"]] == [
        (rate["id"], half_vat, False)
    ]
    assert first["lines"][0]["discount_amount"] == half_off
    after = await api.get(f"/v1/invoices/{invoice['id']}")
    assert (after["status"], after["amount_due"], after["pre_payment_credit_notes_amount"]) == (
        "open",
        total - credited,
        credited,
    )
    assert await _events(api, first["id"]) == ["credit_note.created"]

    # Over-credit: more of the line than is left, or more than the invoice has left.
    over_line = await api.post(
        "/v1/credit_notes", {"invoice": invoice["id"], "lines": [{"invoice_line": line, "amount": price - half + 1}]}
    )
    assert over_line.status == 409, over_line
    over = await api.post("/v1/credit_notes", {"invoice": invoice["id"], "amount": total - credited + 1})
    assert over.status == 409, over
    assert (await api.get(f"/v1/invoices/{invoice['id']}"))["amount_due"] == total - credited

    # Void restores amount_due; then the whole line in one note reverses exactly its discount and VAT.
    voided = await api.post(f"/v1/credit_notes/{first['id']}/void")
    assert voided.status == 200 and voided["status"] == "void", voided
    restored = await api.get(f"/v1/invoices/{invoice['id']}")
    assert (restored["amount_due"], restored["pre_payment_credit_notes_amount"]) == (total, 0)
    assert (await _events(api, invoice["id"]))[-1] == "invoice.updated"
    second = await api.post(
        "/v1/credit_notes", {"invoice": invoice["id"], "lines": [{"invoice_line": line, "amount": half}]}
    )
    rest = await api.post(
        "/v1/credit_notes", {"invoice": invoice["id"], "lines": [{"invoice_line": line, "quantity": 1}]}
    )
    assert second.status == 201 and rest.status == 201, (second, rest)
    assert (second["number"], rest["number"]) == ("CN-000002", "CN-000003")
    assert second["discount_amount"] + rest["discount_amount"] == discount
    assert second["tax"] + rest["tax"] == vat
    assert second["total"] + rest["total"] == total
    paid = await api.get(f"/v1/invoices/{invoice['id']}")
    assert (paid["status"], paid["amount_due"], paid["amount_remaining"]) == ("paid", 0, 0)
    assert (await _events(api, invoice["id"]))[-2:] == ["invoice.updated", "invoice.paid"]
    # Nothing is left to credit; a paid-off invoice's pre-payment note cannot be voided.
    assert (await api.post("/v1/credit_notes", {"invoice": invoice["id"], "amount": 1})).status == 409
    assert (await api.post(f"/v1/credit_notes/{rest['id']}/void")).status == 409


async def test_ten_concurrent_credit_notes_of_30_percent_exactly_three_succeed(api: Api) -> None:
    customer = await api.customer()
    plan = await api.plan(code="pro", amount=10000, currency="USD")
    subscription = await api.subscribe(customer, plan)
    [invoice] = await api.invoices(subscription_id=subscription["id"])
    replies = await asyncio.gather(
        *(api.post("/v1/credit_notes", {"invoice": invoice["id"], "amount": 3000}) for _ in range(10))
    )
    assert sorted(r.status for r in replies) == [201] * 3 + [409] * 7, [r.body for r in replies]
    # Refused by the rule, each having seen what the others credited (the invoice row lock),
    # not by a constraint caught mid-write.
    refusals = [r["detail"] for r in replies if r.status == 409]
    assert all("1000 left to credit" in detail for detail in refusals), refusals
    numbers = sorted(r["number"] for r in replies if r.status == 201)
    assert numbers == ["CN-000001", "CN-000002", "CN-000003"]  # gap-free: refusals take no number
    after = await api.get(f"/v1/invoices/{invoice['id']}")
    assert (after["amount_due"], after["pre_payment_credit_notes_amount"]) == (1000, 9000)


async def test_void_and_uncollectible_invoices_and_bad_input_are_refused(api: Api) -> None:
    customer = await api.customer()
    plan = await api.plan(code="pro", amount=1000, currency="USD")
    subscription = await api.subscribe(customer, plan)
    [invoice] = await api.invoices(subscription_id=subscription["id"])
    for body in (
        {"invoice": invoice["id"]},  # neither lines nor amount
        {"invoice": invoice["id"], "lines": None, "amount": 100},  # absent, not null (as documented)
        {"invoice": invoice["id"], "amount": 0},
        {"invoice": invoice["id"], "amount": 100, "reason": "whim"},
        {"invoice": invoice["id"], "amount": 100, "refund_amount": 100},  # nothing was paid
        {"invoice": invoice["id"], "lines": [{"invoice_line": "il_0000000000000000000000000", "amount": 1}]},
        {"invoice": invoice["id"], "lines": [{"invoice_line": invoice["lines"][0]["id"]}]},
        {"invoice": invoice["id"], "lines": [{"invoice_line": invoice["lines"][0]["id"], "quantity": 2}]},
    ):
        reply = await api.post("/v1/credit_notes", body)
        assert reply.status == 422, (body, reply)
    # "preview" is not a credit note id: the path takes POST only (and says so).
    preview = await api.get("/v1/credit_notes/preview")
    assert preview.status == 405 and preview.headers["Allow"] == "POST", (preview, preview.headers)
    missing = await api.post("/v1/credit_notes", {"invoice": "in_0000000000000000000000000", "amount": 1})
    assert missing.status == 404
    assert (await api.get("/v1/credit_notes/cn_0000000000000000000000000")).status == 404
    assert (await api.post("/v1/credit_notes/cn_0000000000000000000000000/void")).status == 404
    assert (await api.post(f"/v1/invoices/{invoice['id']}/void")).status == 200
    refused = await api.post("/v1/credit_notes", {"invoice": invoice["id"], "amount": 100})
    assert refused.status == 409, refused
    assert (await api.get("/v1/credit_notes"))["data"] == []
    assert (await api.get(f"/v1/invoices/{invoice['id']}"))["post_payment_credit_notes_amount"] == 0
