"""Invoices: reading with lines, filtering, and the payment state machine."""

import pytest

from tests.client import Api


@pytest.fixture
async def invoice(api: Api) -> dict:
    await api.subscribe(await api.customer(), await api.plan())
    [invoice] = await api.invoices()
    return invoice


async def test_paying_an_open_invoice_records_the_full_amount(api: Api, invoice: dict) -> None:
    paid = await api.post(f"/v1/invoices/{invoice['id']}/pay")
    assert paid.status == 200
    assert (paid["status"], paid["amount_paid"], paid["amount_remaining"]) == ("paid", 1999, 0)
    assert paid["paid_at"] == "2026-01-31T10:00:00Z"
    fetched = await api.get(f"/v1/invoices/{invoice['id']}")
    assert fetched.body == paid.body
    assert len(fetched["lines"]) == 1


async def test_illegal_transitions_are_409_and_change_nothing(api: Api, invoice: dict) -> None:
    assert (await api.post(f"/v1/invoices/{invoice['id']}/pay")).status == 200
    for action in ("pay", "void"):
        reply = await api.post(f"/v1/invoices/{invoice['id']}/{action}")
        assert reply.status == 409, action
        assert reply["type"].endswith("conflict")
    assert (await api.get(f"/v1/invoices/{invoice['id']}"))["status"] == "paid"


async def test_a_voided_invoice_cannot_be_paid(api: Api, invoice: dict) -> None:
    voided = await api.post(f"/v1/invoices/{invoice['id']}/void")
    assert voided.status == 200 and voided["status"] == "void" and voided["voided_at"]
    assert (await api.post(f"/v1/invoices/{invoice['id']}/pay")).status == 409
    assert (await api.get(f"/v1/invoices/{invoice['id']}"))["amount_paid"] == 0


async def test_actions_take_no_body_fields(api: Api, invoice: dict) -> None:
    reply = await api.post(f"/v1/invoices/{invoice['id']}/pay", {"amount": 1})
    assert reply.status == 422
    assert (await api.get(f"/v1/invoices/{invoice['id']}"))["status"] == "open"
    assert (await api.post(f"/v1/invoices/{invoice['id']}/pay", {})).status == 200


async def test_list_invoices_filters(api: Api, invoice: dict) -> None:
    bob = await api.customer(email="bob@example.com")
    await api.subscribe(bob, await api.plan(code="other"))
    assert [i["id"] for i in await api.invoices(customer_id=invoice["customer_id"])] == [invoice["id"]]
    assert len(await api.invoices(status="open")) == 2
    await api.post(f"/v1/invoices/{invoice['id']}/pay")
    assert [i["id"] for i in await api.invoices(status="paid")] == [invoice["id"]]
    assert await api.invoices(subscription_id="sub_none") == []
    assert (await api.get("/v1/invoices", status="pending")).status == 422
    for limit in (0, 101, "ten"):
        assert (await api.get("/v1/invoices", limit=limit)).status == 422


async def test_unknown_invoice_is_404(api: Api) -> None:
    assert (await api.post("/v1/invoices/in_nothing/pay")).status == 404
    assert (await api.get("/v1/invoices/in_nothing")).status == 404
