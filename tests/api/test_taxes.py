"""Tax rates: 19% exclusive VAT and 7.7% inclusive tax on invoices issued by requests, by
renewal and in the upcoming preview; the most specific default_tax_rates win; exempt and
reverse-charge customers. Exact amounts in USD (2 decimals), JPY (0) and KWD (3)."""

import pytest

from tests.client import Api


@pytest.mark.parametrize(
    ("currency", "price", "vat", "carved"),
    [
        # 19.99 * 19% = 3.7981 -> 3.80 added; 19.99 * 7.7 / 107.7 = 1.42918... -> 1.43 carved out
        ("USD", 1999, 380, 143),
        # ¥999 * 19% = 189.81 -> ¥190; ¥999 * 7.7 / 107.7 = 71.42... -> ¥71
        ("JPY", 999, 190, 71),
        # 19.999 * 19% = 3.79981 -> 3.800; 19.999 * 7.7 / 107.7 = 1.429827... -> 1.430
        ("KWD", 19999, 3800, 1430),
    ],
)
async def test_exclusive_vat_and_inclusive_tax_on_every_invoice(
    api: Api, currency: str, price: int, vat: int, carved: int
) -> None:
    created = await api.post("/v1/tax_rates", {"display_name": "VAT", "percentage": 19, "inclusive": False})
    assert created.status == 201, created
    vat_rate = created.body
    assert (vat_rate["percentage"], vat_rate["inclusive"], vat_rate["object"]) == (19, False, "tax_rate")
    included = await api.post("/v1/tax_rates", {"display_name": "MWST", "percentage": 7.7, "inclusive": True})
    assert included.status == 201 and included["percentage"] == 7.7, included
    incl_rate = included.body
    assert (await api.settings(default_tax_rates=[vat_rate["id"]]))["default_tax_rates"] == [vat_rate["id"]]

    clock = await api.test_clock("2026-04-01T00:00:00Z")
    plain = await api.plan(code="plain", amount=price, currency=currency)
    swiss = await api.plan(code="swiss", amount=price, currency=currency, default_tax_rates=[incl_rate["id"]])
    ada = await api.customer("ada@example.com", test_clock=clock["id"])
    bob = await api.customer("bob@example.com", test_clock=clock["id"])
    eve = await api.customer("eve@example.com", test_clock=clock["id"], tax_exempt="exempt")
    rex = await api.customer("rex@example.com", test_clock=clock["id"], tax_exempt="reverse")
    on_vat = await api.subscribe(ada, plain)  # the settings' rate
    on_incl = await api.subscribe(bob, swiss)  # the plan's rate wins over the settings'
    exempt = await api.subscribe(eve, plain)
    reverse = await api.subscribe(rex, plain)

    def totals(invoice: dict) -> tuple:
        return (
            invoice["subtotal"],
            invoice["total_excluding_tax"],
            invoice["tax"],
            invoice["total"],
            invoice["amount_due"],
            [(t["tax_rate"], t["amount"], t["inclusive"], t["taxable_amount"]) for t in invoice["total_tax_amounts"]],
            invoice["lines"][0]["tax_amounts"] == invoice["total_tax_amounts"],
            invoice["tax_note"] is not None,
        )

    expected = {
        on_vat["id"]: (price, price, vat, price + vat, price + vat, [(vat_rate["id"], vat, False, price)], True, False),
        on_incl["id"]: (
            price,
            price - carved,
            carved,
            price,
            price,
            [(incl_rate["id"], carved, True, price - carved)],
            True,
            False,
        ),
        exempt["id"]: (price, price, 0, price, price, [], True, False),
        reverse["id"]: (price, price, 0, price, price, [], True, True),
    }
    for subscription_id, want in expected.items():
        [first] = await api.invoices(subscription_id=subscription_id)
        assert totals(first) == want, subscription_id
        upcoming = await api.get(f"/v1/subscriptions/{subscription_id}/upcoming_invoice")
        assert totals(upcoming.body) == want, subscription_id

    await api.advance(clock, "2026-05-01T00:00:01Z")  # renewal: the same rates, set-based
    for subscription_id, want in expected.items():
        renewed = [
            i
            for i in await api.invoices(subscription_id=subscription_id)
            if i["billing_reason"] == "subscription_cycle"
        ]
        assert [totals(i) for i in renewed] == [want], subscription_id


async def test_tax_rates_api_rules(api: Api) -> None:
    created = await api.post(
        "/v1/tax_rates", {"display_name": "GST", "percentage": 8.1234, "inclusive": False, "country": "CH"}
    )
    assert created.status == 201 and created["percentage"] == 8.1234, created
    rate = created.body
    too_precise = await api.post("/v1/tax_rates", {"display_name": "X", "percentage": 8.12345, "inclusive": False})
    assert too_precise.status == 422
    immutable = await api.patch(f"/v1/tax_rates/{rate['id']}", {"percentage": 9})
    assert immutable.status == 422  # percentage and inclusive never change
    archived = await api.patch(f"/v1/tax_rates/{rate['id']}", {"active": False, "display_name": "GST (old)"})
    assert archived.status == 200 and (archived["active"], archived["display_name"]) == (False, "GST (old)")
    listed = await api.get("/v1/tax_rates", active="false")
    assert [r["id"] for r in listed["data"]] == [rate["id"]]
    # An archived rate cannot become a default; an unknown one is not found; nothing changes.
    refused = await api.patch("/v1/settings", {"default_tax_rates": [rate["id"]]})
    assert refused.status == 409, refused
    unknown = await api.post(
        "/v1/plans",
        {
            "code": "p",
            "name": "P",
            "amount": 100,
            "currency": "USD",
            "interval": "month",
            "default_tax_rates": ["txr_0000000000000000000000000"],
        },
    )
    assert unknown.status == 404, unknown
    assert (await api.get("/v1/settings"))["default_tax_rates"] == []
    assert (await api.get("/v1/plans"))["data"] == []
